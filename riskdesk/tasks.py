"""Celery tasks of the project: the nightly close of day and the task outbox's relay."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from celery import shared_task
from celery.result import EagerResult
from django.db import DatabaseError, connection
from django.utils.translation import gettext as _

from riskdesk import nightly
from riskdesk.core import outbox
from riskdesk.core.errors import Conflict
from riskdesk.core.models import JobRun
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


def close_day_ask(as_of: date) -> tuple[outbox.Enqueued, list[date] | None]:
    """Ask for close of day up to `as_of` through the task outbox (the operations page and the API).

    Returns the outbox's answer and, where Celery runs in-process, the days it closed (None when a
    worker will close them). In-process, a step that fails is raised as close_day_failure's 409.
    """
    try:
        enqueued = outbox.task_enqueue(close_day, as_of.isoformat())
        result = enqueued.result
        closed = [date.fromisoformat(day) for day in result.get()] if isinstance(result, EagerResult) else None
    except Exception as error:  # noqa: BLE001 - in-process, the night's own failure is raised here
        raise close_day_failure(as_of, error) from error
    return enqueued, closed


def close_day_failure(as_of: date, error: Exception) -> Conflict:
    """Say where close of day, run in-process, stopped: the first step of the first open day not done.

    Days close in order and a day's steps run in order, so after a failure the step that
    failed is the first one of the first open day whose job run is not done (its error is
    in the job run). The web page and the API both answer with this, never a 500.
    """
    days = nightly.days_to_close(as_of)
    day = days[0] if days else as_of
    statuses = dict(JobRun.objects.filter(business_date=day).values_list("step", "status"))
    step = next((s.name for s in nightly.STEPS if statuses.get(s.name) != JobRun.Status.DONE), "")
    log.warning("close of day stopped at %s on %s: %s", step or "-", day, type(error).__name__)
    reason = (str(error).strip().splitlines() or [""])[0][:200]
    message = _("Close of day stopped at step %(step)s of %(day)s (%(error)s): %(reason)s") % {
        "step": step or "-",
        "day": day.isoformat(),
        "error": type(error).__name__,
        "reason": reason,
    }
    return Conflict("close_day_failed", message, step=step, business_date=day.isoformat())


@shared_task(name="riskdesk.tasks.relay_pending_tasks")
def relay_pending_tasks() -> int:
    """Publish the tasks the outbox still holds (beat: every minute; also when a worker is ready)."""
    return outbox.relay_pending()
