"""Celery tasks of the project: the nightly close of day and the task outbox's relay."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from celery import shared_task
from django.db import DatabaseError, connection

from riskdesk import nightly
from riskdesk.core import outbox
from riskdesk.core.sql import is_postgres

log = logging.getLogger(__name__)

# pg_try_advisory_lock's key for "a close of day is running" (any 64-bit number no other lock uses).
NIGHT_LOCK = 0x72736B_4E49_4754


@shared_task(name="riskdesk.tasks.close_day")
def close_day(as_of: str | None = None) -> list[str]:
    """Close every open business day up to `as_of` (ISO date; default yesterday).

    Beat asks every 15 minutes of the night (settings.CELERY_BEAT_SCHEDULE), so a tick lost
    while the broker was down, or a worker killed mid-night, costs a quarter of an hour, not
    a day or the broker's visibility timeout. A tick that finds a night running in a live
    process returns at once; one whose night's process died resumes its job runs.
    """
    with night_lock() as held:
        if not held:
            log.info("close of day is already running in another process; this request returns")
            return []
        days = nightly.close_days(as_of=date.fromisoformat(as_of) if as_of else None)
    return [d.isoformat() for d in days]


@contextmanager
def night_lock() -> Iterator[bool]:
    """Hold Postgres's session lock on the night; yield False when a live process holds it.

    The lock belongs to the holder's database session, so a worker that dies (SIGKILL, a
    lost host) releases it with its connection: no lease to expire, no stale flag to clear.
    SQLite (the embedded demo, one process) has no such lock and needs none.
    """
    if not is_postgres():
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [NIGHT_LOCK])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            _unlock()


def _unlock() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [NIGHT_LOCK])
    except DatabaseError:
        # The connection died with the night (its failure is recorded on a fresh one): the lock went with it.
        log.warning("the night's lock was not released: its connection is gone, and the lock with it")


@shared_task(name="riskdesk.tasks.relay_pending_tasks")
def relay_pending_tasks() -> int:
    """Publish the tasks the outbox still holds (beat: every minute; also when a worker is ready)."""
    return outbox.relay_pending()
