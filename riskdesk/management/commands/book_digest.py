"""python manage.py book_digest [--tables]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from riskdesk import digest


class Command(BaseCommand):
    help = "Print the sha256 of everything the nights write (riskdesk/digest.py says what is in and out)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tables", action="store_true", help="also print each table's digest")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tables"]:
            for name, table_digest in digest.table_digests().items():
                self.stdout.write(f"{table_digest}  {name}")
        self.stdout.write(digest.book_digest())
