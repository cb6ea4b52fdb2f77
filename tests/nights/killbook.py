"""The kill test's book: a small demo book, then days left open for the night under test.

Run as `python -m tests.nights.killbook` with DATABASE_URL set to an empty, migrated
database: it seeds KILL_BOOK_BORROWERS borrowers over two months up to SEEDED_UNTIL and a
champion scorecard, and closes nothing after. Closing up to NIGHT_UNTIL then has work in
every step: about a sixth of the loans have an installment falling due in those days and
nobody pays it, so days past due grow, buckets move, lines freeze, cases open and are
routed, reminders are planned, the champion scores and the dashboards recount.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

SEEDED_UNTIL = date(2026, 11, 22)
NIGHT_UNTIL = date(2026, 12, 1)
DISPATCH_AT = "2026-12-02T03:00:00+00:00"  # 11:00 in Shanghai: inside every contact window
BORROWERS = int(os.environ.get("KILL_BOOK_BORROWERS", "300"))


def build() -> None:
    from riskdesk.demo import DemoBook, business_date_pinned
    from riskdesk.riskmodels.models import ModelVersion
    from tests.riskmodels.test_scoring_step import scorecard_version

    with business_date_pinned(SEEDED_UNTIL + timedelta(days=1)):
        DemoBook(seed=11, borrowers=BORROWERS, months=2).run()
    if not ModelVersion.objects.filter(status="champion").exists():
        scorecard_version()


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskdesk.settings")
    django.setup()
    build()
