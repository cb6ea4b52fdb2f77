"""Redis down: the desk keeps answering, asked-for tasks wait in the outbox, no reminder is lost or sent twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from celery.beat import Scheduler, SchedulingError
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count
from rest_framework.test import APIClient

from riskdesk.celery import app
from riskdesk.collections.models import OutboxMessage, Reminder
from riskdesk.core.models import PendingTask
from riskdesk.core.outbox import relay_pending
from riskdesk.lending.models import Loan
from tests.collections.test_dispatch import MORNING, every_pair
from tests.conftest import TODAY, client_for
from tests.nights import stack

pytestmark = pytest.mark.redis

API = "/api/v1"


def test_sessions_and_caches_do_not_live_in_redis() -> None:
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert all("redis" not in cache["BACKEND"].lower() for cache in settings.CACHES.values())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_redis_down_the_desk_answers_and_close_day_waits_in_the_outbox(
    private_redis: stack.PrivateRedis, users: dict[str, User], make_loan: Callable[..., Loan]
) -> None:
    loan = make_loan(disbursed_on=date(2026, 10, 1))
    private_redis.stop()
    admin = APIClient()
    admin.force_authenticate(users["admin"])

    assert client_for(users["admin"]).get("/operations/").status_code == 200
    assert admin.get(f"{API}/loans/{loan.pk}/").status_code == 200
    created = admin.post(
        f"{API}/borrowers/",
        {"name": "李四", "national_id": "110101198802023456", "phones": [{"number": "13900139000", "label": "mobile"}]},
        format="json",
    )
    assert created.status_code == 201
    asked = admin.post(f"{API}/operations/close-day/", {"as_of": "2026-11-22"}, format="json")

    assert asked.status_code == 202
    body = asked.json()
    assert (body["queued"], body["closed_days"], body["task_id"]) == (False, [], "")
    pending = PendingTask.objects.get(pk=body["pending_task"])
    assert (pending.task, pending.args, pending.published_at, pending.attempts) == (
        "riskdesk.tasks.close_day",
        ["2026-11-22"],
        None,
        1,
    )
    assert pending.last_error.startswith("OperationalError")

    # Redis is back: the relay (beat every minute, and every worker when it is ready) sends it once.
    private_redis.start()
    assert relay_pending() == 1
    assert relay_pending() == 0
    pending.refresh_from_db()
    assert pending.published_at is not None and private_redis.queued() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reminder_tick_beat_could_not_send_is_caught_up_by_the_next_and_each_reminder_goes_once(
    private_redis: stack.PrivateRedis, make_loan: Callable[..., Loan]
) -> None:
    loan = make_loan(principal="3000.00", term=3, disbursed_on=date(2026, 10, 26))
    reminders = every_pair(loan)
    scheduler = Scheduler(app=app, lazy=False)
    tick = scheduler.schedule["dispatch-reminders"]
    # Beat's own entry, sent as beat sends it; only its clock is pinned inside the contact windows.
    tick.kwargs = {"now": MORNING.isoformat()}
    private_redis.stop()

    # Beat's ticks while Redis is down fail at once: beat sends straight to the broker, not via the outbox.
    for _ in range(2):
        with pytest.raises(SchedulingError, match="Couldn't apply scheduled task dispatch-reminders"):
            scheduler.apply_async(tick, advance=False)
    assert (PendingTask.objects.count(), OutboxMessage.objects.count()) == (0, 0)

    # Redis back: the next tick sends every reminder due since (they are read from the database), a later one none.
    private_redis.start()
    db = connection.settings_dict
    worker = stack.start_worker(
        database_url=stack.Postgres(db).url(db["NAME"]),
        redis_url=private_redis.url,
        name="redis-back",
        env={"BUSINESS_DATE_OVERRIDE": TODAY.isoformat()},
    )
    try:
        scheduler.apply_async(tick, advance=False)
        stack.wait_until(
            lambda: Reminder.objects.filter(status="sent").count() == len(reminders), timeout=60, what="the sends"
        )
        scheduler.apply_async(tick, advance=False)
        stack.wait_until(
            lambda: private_redis.queued() == 0 and private_redis.unacked() == 0, timeout=60, what="the later tick"
        )
    finally:
        stack.stop(worker)

    per_reminder = dict(
        OutboxMessage.objects.values_list("reminder").annotate(n=Count("id")).values_list("reminder", "n")
    )
    assert per_reminder == {r.pk: 1 for r in reminders}
