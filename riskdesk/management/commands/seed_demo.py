"""python manage.py seed_demo [--seed 7] [--borrowers 2000] [--months 20] [--if-empty]"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from riskdesk import demo
from riskdesk.core.errors import DomainError
from riskdesk.lending.models import Loan


class Command(BaseCommand):
    help = "Simulate a demo book day by day (borrowers, loans, payments, closed days) and create the demo users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7, help="the same seed gives the same book")
        # 2000 (about 2 minutes on SQLite, scoring and two trainings included) keeps `make run` inside
        # its 5 minutes: every payment replays its loan.
        parser.add_argument("--borrowers", type=int, default=2000)
        parser.add_argument("--months", type=int, default=20, help="months of history, ending yesterday")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the book already has loans")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Loan.objects.exists():
            self.stdout.write("the book already has loans: not seeding")
            return
        if not demo.book_is_empty():
            raise CommandError("The book already has loans or closed days: seed an empty database (or --if-empty).")
        if options["borrowers"] < 1 or not 1 <= options["months"] <= 60:
            raise CommandError("--borrowers must be positive and --months between 1 and 60")
        started = time.perf_counter()
        book = demo.DemoBook(seed=options["seed"], borrowers=options["borrowers"], months=options["months"])
        bar = tqdm(total=len(book.days), desc="simulating days", unit="day", disable=options["verbosity"] == 0)
        try:
            report = book.run(on_day=lambda day: bar.update(1))
        except DomainError as error:
            raise CommandError(error.message) from None
        finally:
            bar.close()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"seeded {book.first_day} to {book.last_day} with seed {options['seed']} in {elapsed:.0f} s"
            )
        )
        for name, value in demo.book_summary().items():
            self.stdout.write(f"  {name:<20} {_show(value)}")
        for line in report.models:
            self.stdout.write(f"  {'scorecards':<20} {line}")
        refused = report.loans_refused + report.payments_refused
        if refused:
            self.stdout.write(f"  {'refused by services':<20} {_show(dict(refused))}")


def _show(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return str(value)
