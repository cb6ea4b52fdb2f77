"""python manage.py fill_dashboards [--from YYYY-MM-DD] [--to YYYY-MM-DD]

Rebuild the dashboards' aggregates for closed days, as close of day's last step would,
without touching the job runs: after a fix to the step, or to fill the tables on a book
closed before the step existed. A rerun changes nothing.

Exact for any closed day: roll rates (month ends, from the frozen month-end loan
snapshots), compliance days, and collections' attempts and promises. Collections' cases
and recoveries go to each case's collector and stage as they are now (assignments keep no
history). Expected loss and vintages read the loans as they stand, so they are rebuilt
for the last closed day only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from riskdesk.core.dates import date_range
from riskdesk.core.jobs import last_closed_day
from riskdesk.dashboards.aggregates import aggregates_rebuild


class Command(BaseCommand):
    help = "Rebuild the dashboards' aggregates for closed days --from .. --to (default: the last closed day)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="last", type=date.fromisoformat, default=None, help="YYYY-MM-DD")

    def handle(self, *args: Any, first: date | None = None, last: date | None = None, **options: Any) -> None:
        closed = last_closed_day()
        if closed is None:
            raise CommandError("No business day is closed yet: run close_day first.")
        last = last or closed
        first = first or last
        if first > last:
            raise CommandError(f"--from {first} is after --to {last}.")
        if last > closed:
            raise CommandError(f"--to {last} is not closed; the last closed day is {closed}.")
        for day in date_range(first, last):
            rows = aggregates_rebuild(day, last_closed=closed)
            if options["verbosity"] > 0:
                self.stdout.write(f"{day}: {rows}")
        if last < closed:
            self.stdout.write(f"expected loss and vintages are rebuilt only for the last closed day ({closed})")
