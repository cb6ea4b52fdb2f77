"""Celery tasks of collections: thin wrappers over services."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from riskdesk.collections.channels import outbox_relay_email
from riskdesk.collections.reminders import reminders_dispatch


@shared_task(name="riskdesk.collections.tasks.dispatch_reminders")
def dispatch_reminders(now: str | None = None) -> dict[str, int]:
    """Send the reminders due at `now` (ISO instant; default: now; beat: every 5 minutes), then relay queued emails."""
    counts = reminders_dispatch(now=datetime.fromisoformat(now) if now else None)
    counts["emails_relayed"] = outbox_relay_email()
    return counts
