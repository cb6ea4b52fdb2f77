"""Exit 0 when a Celery worker on this host answers a ping through the broker, else 1 (the worker's health check)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from kombu.exceptions import OperationalError

from riskdesk.health import worker_ping


class Command(BaseCommand):
    help = "Ping the Celery worker(s) on this host through the broker; exit 1 when none answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for replies (default 2)")

    def handle(self, *args: Any, timeout: float, **options: Any) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("No broker: tasks run in-process (REDIS_URL is not set), so there is no worker.")
        try:
            nodes = worker_ping(timeout=timeout)
        except (OperationalError, OSError) as exc:
            raise CommandError(f"The broker does not answer: {exc}") from exc
        if not nodes:
            raise CommandError(f"No Celery worker on this host answered a ping within {timeout:g} s.")
        self.stdout.write(f"ok: {', '.join(nodes)}")
