"""The task outbox against a real Redis: a bad row never blocks the rows behind it, and a request
whose row the relay is publishing reports what the relay did."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from riskdesk.collections.tasks import dispatch_reminders
from riskdesk.core.models import PendingTask
from riskdesk.core.outbox import Enqueued, relay_pending, task_enqueue
from tests.nights import stack

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NOW = "2026-11-23T10:00:00+08:00"


@pytest.fixture
def other_session() -> Iterator[Any]:
    """A second Postgres session on the test database, as the relay's process would hold one."""
    db = connection.settings_dict
    session = stack.Postgres(db).connect(db["NAME"])
    session.autocommit = False
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def row(task: str, *args: Any, **kwargs: Any) -> PendingTask:
    return PendingTask.objects.create(task=task, args=list(args), kwargs=kwargs)


def test_a_row_whose_task_cannot_be_sent_is_marked_failed_and_the_relay_goes_on(
    private_redis: stack.PrivateRedis,
) -> None:
    unknown = row("riskdesk.tasks.no_such_task")
    refused = row("riskdesk.tasks.close_day", "2026-11-22", "too", "many")
    good = row("riskdesk.collections.tasks.dispatch_reminders", now=NOW)

    assert relay_pending() == 1

    for pending in (unknown, refused, good):
        pending.refresh_from_db()
    assert (unknown.published_at, unknown.attempts, unknown.last_error) == (
        None,
        1,
        "LookupError: no task named 'riskdesk.tasks.no_such_task'",
    )
    assert unknown.failed_at is not None and refused.failed_at is not None and refused.published_at is None
    assert refused.last_error.startswith("TypeError") and refused.attempts == 1
    assert (good.failed_at, good.attempts, good.last_error) == (None, 1, "")
    assert good.published_at is not None and good.task_id and private_redis.queued() == 1
    # The failed rows stay failed: no relay sends or counts them again.
    assert relay_pending() == 0
    assert PendingTask.objects.filter(attempts=1).count() == 3 and private_redis.queued() == 1


def test_with_the_broker_down_the_relay_keeps_the_rows_and_stops(private_redis: stack.PrivateRedis) -> None:
    first, second = row(dispatch_reminders.name, now=NOW), row(dispatch_reminders.name, now=NOW)
    private_redis.stop()

    assert relay_pending() == 0

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.published_at, first.failed_at, first.attempts) == (None, None, 1)
    assert first.last_error.startswith("OperationalError")
    assert (second.attempts, second.last_error) == (0, "")  # not tried: the broker is away
    private_redis.start()
    assert relay_pending() == 2 and private_redis.queued() == 2


def enqueue_while_the_relay_holds_the_row(other_session: Any, relay: Callable[[Any, int], None]) -> Enqueued:
    """Ask for a task while another session (the relay) holds its outbox row, then let `relay` finish there.

    The request's publish runs when its transaction commits; just before it, the other
    session locks the new row, and a thread ends that session's publish a moment later.
    """
    asked: list[Enqueued] = []
    finishing: list[threading.Thread] = []

    def relay_takes_the_row() -> None:
        pk = asked[0].pending.pk
        with other_session.cursor() as cursor:
            cursor.execute("SELECT id FROM core_pendingtask WHERE id = %s FOR UPDATE", [pk])
        finishing.append(threading.Timer(0.3, relay, (other_session, pk)))
        finishing[0].start()

    with transaction.atomic():
        transaction.on_commit(relay_takes_the_row)  # registered first: runs before the request's publish
        asked.append(task_enqueue(dispatch_reminders, now=NOW))
    finishing[0].join()
    return asked[0]


def test_a_request_whose_row_the_relay_published_reports_it_queued(
    private_redis: stack.PrivateRedis, other_session: Any
) -> None:
    def relay_publishes(session: Any, pk: int) -> None:
        with session.cursor() as cursor:
            cursor.execute(
                "UPDATE core_pendingtask SET published_at = now(), task_id = 'sent-by-the-relay', attempts = 1 "
                "WHERE id = %s",
                [pk],
            )
        session.commit()

    enqueued = enqueue_while_the_relay_holds_the_row(other_session, relay_publishes)

    assert (enqueued.queued, enqueued.task_id, enqueued.pending.attempts) == (True, "sent-by-the-relay", 1)
    assert private_redis.queued() == 0  # the request did not send it a second time


def test_a_request_whose_row_the_relay_could_not_publish_sends_it_itself(
    private_redis: stack.PrivateRedis, other_session: Any
) -> None:
    def relay_fails(session: Any, pk: int) -> None:
        session.rollback()

    enqueued = enqueue_while_the_relay_holds_the_row(other_session, relay_fails)

    assert enqueued.queued and enqueued.pending.attempts == 1 and enqueued.task_id == enqueued.pending.task_id
    assert private_redis.queued() == 1
