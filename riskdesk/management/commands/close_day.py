"""python manage.py close_day [--as-of YYYY-MM-DD]"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from riskdesk import nightly
from riskdesk.core.errors import DomainError


class Command(BaseCommand):
    help = "Close business days in order up to --as-of (default: yesterday), catching up missed days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="last day to close (YYYY-MM-DD)")

    def handle(self, *args: Any, as_of: date | None = None, **options: Any) -> None:
        verbosity = options["verbosity"]
        bar = tqdm(desc="closing days", unit="day", disable=verbosity == 0)

        def report(day: date, runs: list[Any]) -> None:
            bar.update(1)
            if verbosity > 1:
                for run in runs:
                    self.stdout.write(f"{day} {run.step}: {run.status} in {run.duration_ms} ms {run.rows}")

        try:
            days = nightly.close_days(as_of=as_of, on_day=report)
        except DomainError as error:
            raise CommandError(error.message) from None
        finally:
            bar.close()
        if days:
            self.stdout.write(self.style.SUCCESS(f"closed {len(days)} day(s): {days[0]} to {days[-1]}"))
        else:
            self.stdout.write("nothing to close: every day up to the requested one is closed")
