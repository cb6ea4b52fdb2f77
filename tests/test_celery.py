"""The nightly task on a real Celery worker with Redis as the broker (the full-stack path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from celery.contrib.testing.worker import start_worker

from riskdesk.celery import app
from riskdesk.core.models import ClosedDay, JobRun
from riskdesk.lending.models import Loan
from riskdesk.tasks import close_day
from tests.conftest import redis_url


@pytest.fixture
def redis_worker() -> Iterator[None]:
    url = redis_url()
    saved = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.update(saved)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_close_day_runs_on_a_worker_through_redis(make_loan: Callable[..., Loan], redis_worker: None) -> None:
    loan = make_loan(disbursed_on=date(2026, 3, 1))
    closed = close_day.delay("2026-04-05").get(timeout=60)
    assert closed[0] == "2026-03-01" and closed[-1] == "2026-04-05" and len(closed) == 36
    assert ClosedDay.objects.count() == 36
    assert JobRun.objects.filter(status="done").count() == 72
    loan.refresh_from_db()
    assert (loan.dpd, loan.bucket) == (4, "M1")  # installment 1 fell due on Apr 1
