"""Celery tasks of the project: the nightly close of day and the task outbox's relay."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from riskdesk import nightly
from riskdesk.core import outbox


@shared_task(name="riskdesk.tasks.close_day")
def close_day(as_of: str | None = None) -> list[str]:
    """Close every open business day up to `as_of` (ISO date; default yesterday)."""
    days = nightly.close_days(as_of=date.fromisoformat(as_of) if as_of else None)
    return [d.isoformat() for d in days]


@shared_task(name="riskdesk.tasks.relay_pending_tasks")
def relay_pending_tasks() -> int:
    """Publish the tasks the outbox still holds (beat: every minute; also when a worker is ready)."""
    return outbox.relay_pending()
