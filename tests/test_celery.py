"""The nightly task on a real Celery worker with Redis as the broker (the full-stack path)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from celery.contrib.testing.worker import start_worker

from riskdesk import nightly
from riskdesk.celery import app
from riskdesk.core.models import ClosedDay, JobRun
from riskdesk.lending.models import Loan
from riskdesk.tasks import close_day
from tests.conftest import redis_url


@pytest.fixture
def redis_worker() -> Iterator[None]:
    url = redis_url()
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=url, task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.update(saved)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_close_day_runs_on_a_worker_through_redis(make_loan: Callable[..., Loan], redis_worker: None) -> None:
    loan = make_loan(disbursed_on=date(2026, 3, 1))
    # Publish on an explicit Redis connection: an eager .delay() earlier in the run can
    # leave the app's cached producer pool on the in-memory transport.
    with app.connection_for_write(redis_url()) as connection:
        close_day.apply_async(("2026-04-05",), connection=connection)
    deadline = time.monotonic() + 60
    while ClosedDay.objects.count() < 36 and time.monotonic() < deadline:
        time.sleep(0.2)
    closed = list(ClosedDay.objects.order_by("business_date").values_list("business_date", flat=True))
    assert (closed[0], closed[-1], len(closed)) == (date(2026, 3, 1), date(2026, 4, 5), 36)
    assert JobRun.objects.filter(status="done").count() == 36 * len(nightly.STEPS)
    loan.refresh_from_db()
    assert (loan.dpd, loan.bucket) == (4, "M1")  # installment 1 fell due on Apr 1
