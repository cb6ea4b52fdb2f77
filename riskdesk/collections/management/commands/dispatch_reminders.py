"""python manage.py dispatch_reminders [--now ISO-DATETIME] [--limit N]"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from riskdesk.collections.channels import outbox_relay_email
from riskdesk.collections.reminders import reminders_dispatch


def aware(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Send the reminders now due through the compliance gate, then relay queued emails (what beat runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", type=aware, default=None, help="the moment to check contact rules at")
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args: Any, now: datetime | None, limit: int, **options: Any) -> None:
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        counts = reminders_dispatch(now=now, limit=limit)
        counts["emails_relayed"] = outbox_relay_email()
        self.stdout.write(" ".join(f"{key}={value}" for key, value in sorted(counts.items())))
