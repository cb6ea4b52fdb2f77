"""python manage.py bureau_export --month-end YYYY-MM-DD"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from riskdesk.collections.bureau import bureau_export_generate
from riskdesk.core.errors import DomainError


class Command(BaseCommand):
    help = "Generate (or regenerate, byte-identically) a month's credit-bureau export; --output writes the file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month-end", type=date.fromisoformat, required=True)
        parser.add_argument("--output", default="", help="also write the CSV to this path")

    def handle(self, *args: Any, month_end: date, output: str, **options: Any) -> None:
        try:
            export = bureau_export_generate(month_end=month_end)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if output:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                handle.write(export.content)
        self.stdout.write(f"{export.month_end}: {export.accounts} accounts, sha256 {export.sha256}")
