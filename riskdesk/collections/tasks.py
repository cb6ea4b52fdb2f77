"""Celery tasks of collections: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task

from riskdesk.collections.channels import outbox_relay_email
from riskdesk.collections.reminders import reminders_dispatch


@shared_task(name="riskdesk.collections.tasks.dispatch_reminders")
def dispatch_reminders() -> dict[str, int]:
    """Send the reminders now due (beat: every 5 minutes), then relay queued emails."""
    counts = reminders_dispatch()
    counts["emails_relayed"] = outbox_relay_email()
    return counts
