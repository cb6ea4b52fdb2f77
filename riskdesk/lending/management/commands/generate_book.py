"""python manage.py generate_book --loans N [--as-of YYYY-MM-DD]"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from riskdesk.core.dates import business_today
from riskdesk.lending.bookgen import generate_book


class Command(BaseCommand):
    help = "Fill a large synthetic book (COPY on Postgres), closed through the day before --as-of, for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loans", type=int, required=True)
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=None, help="the next day to close (default: yesterday)"
        )
        parser.add_argument("--delinquent-share", type=float, default=0.04)
        parser.add_argument("--seed", type=int, default=1)

    def handle(
        self, *args: Any, loans: int, as_of: date | None, delinquent_share: float, seed: int, **options: Any
    ) -> None:
        as_of = as_of or business_today() - timedelta(days=1)
        with tqdm(total=loans, desc="generating book", unit="loan", disable=options["verbosity"] == 0) as bar:
            counts = generate_book(
                loans=loans, as_of=as_of, delinquent_share=delinquent_share, seed=seed, progress=bar.update
            )
        self.stdout.write(self.style.SUCCESS(f"generated {counts}; closed through {as_of - timedelta(days=1)}"))
