"""python manage.py audit_book [--as-of YYYY-MM-DD] [--json]"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from riskdesk.lending.conservation import audit_book, report_json


class Command(BaseCommand):
    help = (
        "Check that the book conserves money: payments = allocations, schedule principal = loan principal, "
        "paid <= due, stored balances = their installments, status consistent. Exits 1 with a report when not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="the business date the balances are as of (default: the last closed day)",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, as_of: date | None, json: bool, **options: Any) -> None:
        report = audit_book(as_of=as_of)
        self.stdout.write(report_json(report) if json else report.as_text())
        if not report.clean:
            broken = ", ".join(sorted(report.rules))
            raise CommandError(f"the book does not balance: {broken}", returncode=1)
