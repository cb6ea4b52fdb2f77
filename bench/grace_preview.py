"""Time the grace-policy preview on a closed generated book.

    python manage.py generate_book --loans 100000 --as-of 2026-11-23     # with BUSINESS_DATE_OVERRIDE=2026-11-24
    python manage.py close_day
    python bench/grace_preview.py --database-url postgres://.../riskdesk_sim --today 2026-11-24 [--repeat 3]

Runs three drafts against the book of the last closed day (nothing is written): a policy
version with 5 grace days for every product, one counting penalty from grace end with
the bureau after 20 days, and a ten-day incident window 7 weeks back. For each: the
median wall time and CPU time of this process over the repeats, the loans replayed (each
twice, once per policy) and the wall time per replayed loan.
"""

from __future__ import annotations

import os
import sys

# bench/collections.py shares its name with the standard library's `collections`: this
# folder goes off the import path before anything imports it (see bench/close_day.py).
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != os.path.dirname(os.path.realpath(__file__))]

import argparse
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--today", type=date.fromisoformat, required=True, help="the business date (pinned)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="riskdesk.settings",
        BUSINESS_DATE_OVERRIDE=args.today.isoformat(),
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from riskdesk.lending.grace_preview import PolicyDraft, WindowDraft, grace_policy_simulate
    from riskdesk.lending.models import Loan
    from riskdesk.lending.selectors import state_date

    closed = state_date()
    assert closed is not None, "close a day first"
    drafts = {
        "policy: 5 grace days": PolicyDraft(product=None, effective_from=args.today, grace_days=5),
        "policy: penalty from grace end, bureau after 20": PolicyDraft(
            product=None, effective_from=args.today, penalty_start="grace_end", bureau_report_after_days=20
        ),
        "incident window: 10 days, +7": WindowDraft(
            product=None,
            start=closed - timedelta(days=50),
            end=closed - timedelta(days=41),
            extra_grace_days=7,
        ),
    }
    print(f"book: {Loan.objects.count()} loans, closed through {closed}")
    for name, draft in drafts.items():
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            preview = grace_policy_simulate(draft=draft)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        wall = statistics.median(walls)
        per_loan = wall / preview.loans_replayed * 1000 if preview.loans_replayed else 0
        print(
            f"  {name:<48} {wall:6.2f} s wall, {statistics.median(cpus):6.2f} s CPU; "
            f"{preview.loans_replayed} loans replayed ({per_loan:.2f} ms each), {preview.loans_changed} changed; "
            f"difference {preview.total.difference}"
        )


if __name__ == "__main__":
    main()
