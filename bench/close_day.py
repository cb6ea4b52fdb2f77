"""Benchmark close of day (steps 1-2) on a generated book, against a per-loan ORM loop.

    python bench/close_day.py --loans 100000 [--sample 2000]

Needs Postgres (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/riskdesk_bench;
the database is dropped and created). Steps:
  1. migrate and `generate_book --loans N` (closed through the day before AS_OF);
  2. `close_day --as-of AS_OF` in a child process: the lending steps' time (the night also
     runs the other apps' steps, timed on their own), and that process's peak RSS;
  3. the baseline, in this process: a plain ORM loop doing the same step loan by loan
     (load installments, recompute penalty, DPD, bucket, save) on a random sample,
     inside a transaction that is rolled back;
then prints both and the ratio per loan.
"""

from __future__ import annotations

import os
import sys

# bench/collections.py shares its name with the standard library's `collections`: run as a
# script, this folder heads the import path and would shadow it, so it goes first.
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != os.path.dirname(os.path.realpath(__file__))]

import argparse
import json
import random
import subprocess
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/riskdesk_bench"


def bench_environment(default_url: str, business_date: date) -> tuple[str, dict[str, str]]:
    """Point this process and its children at the bench database, with the business date pinned."""
    url = os.environ.get("BENCH_DATABASE_URL", default_url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "riskdesk.settings",
        "BUSINESS_DATE_OVERRIDE": business_date.isoformat(),
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    return url, env


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def recreate_database(url: str) -> None:
    import psycopg2

    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    admin.close()


CLOSE_AND_MEASURE = """
import json, resource, time, django
django.setup()
from datetime import date
from riskdesk import nightly
from riskdesk.core.models import JobRun
started = time.perf_counter()
nightly.close_days(as_of=date.fromisoformat({as_of!r}))
elapsed = time.perf_counter() - started
runs = {{r.step: {{"ms": r.duration_ms, "rows": r.rows}} for r in JobRun.objects.filter(business_date={as_of!r})}}
print(json.dumps({{"seconds": elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "runs": runs}}))
"""


def close_in_child(env: dict[str, str], as_of: date = AS_OF) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CLOSE_AND_MEASURE.format(as_of=as_of.isoformat())],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def orm_baseline(sample: int, seed: int = 7) -> tuple[int, float]:
    """Step 1 for `sample` random loans, one loan at a time through the ORM; rolled back."""
    import django

    django.setup()
    from django.db import transaction

    from riskdesk.core.money import quantize_money
    from riskdesk.lending.models import BucketHistory, Loan
    from riskdesk.lending.selectors import buckets

    config = buckets()
    ids = list(Loan.objects.values_list("id", flat=True))
    chosen = random.Random(seed).sample(ids, min(sample, len(ids)))
    started = time.perf_counter()
    with transaction.atomic():
        for loan_id in chosen:
            loan = Loan.objects.get(pk=loan_id)
            oldest, overdue, penalty_total = None, Decimal(0), Decimal(0)
            for inst in loan.installments.order_by("seq"):
                unpaid = inst.principal_due + inst.interest_due - inst.principal_paid - inst.interest_paid
                if inst.pi_settled_on is None and inst.due_date < AS_OF and inst.grace_end < AS_OF:
                    days = max((AS_OF - inst.penalty_from).days, 0)
                    base = inst.principal_due - inst.principal_paid
                    inst.penalty_accrued = quantize_money(
                        (base * days + inst.late_base_days) * loan.daily_rate * loan.penalty_multiplier
                    )
                    inst.save(update_fields=["penalty_accrued"])
                if oldest is None and inst.due_date < AS_OF and unpaid > inst.arrears_tolerance:
                    oldest = inst
                if inst.due_date < AS_OF:
                    overdue += unpaid
                penalty_total += inst.penalty_accrued - inst.penalty_paid
            dpd = (AS_OF - oldest.due_date).days if oldest else 0
            bucket = next(b.code for b in config if dpd >= b.min_dpd and (b.max_dpd is None or dpd <= b.max_dpd))
            if bucket != loan.bucket:
                BucketHistory.objects.create(loan=loan, on=AS_OF, from_bucket=loan.bucket, to_bucket=bucket, dpd=dpd)
            loan.dpd, loan.bucket = dpd, bucket
            loan.grace_end = oldest.grace_end if oldest else None
            loan.in_grace = bool(oldest) and AS_OF <= oldest.grace_end
            loan.overdue_amount, loan.penalty_accrued = overdue + penalty_total, penalty_total
            loan.save(update_fields=["dpd", "bucket", "grace_end", "in_grace", "overdue_amount", "penalty_accrued"])
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return len(chosen), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2000, help="loans in the ORM baseline")
    parser.add_argument("--reuse", action="store_true", help="keep an existing generated book (reopen AS_OF)")
    args = parser.parse_args()

    url, env = bench_environment(DEFAULT_URL, AS_OF + timedelta(days=1))
    if not args.reuse:
        recreate_database(url)
        manage("migrate", "--verbosity", "0", env=env)
        started = time.perf_counter()
        manage("generate_book", "--loans", str(args.loans), "--as-of", AS_OF.isoformat(), "--verbosity", "0", env=env)
        print(f"generate_book --loans {args.loans}: {time.perf_counter() - started:.1f} s")
    else:
        import django

        django.setup()
        from riskdesk.core.models import ClosedDay, JobRun

        JobRun.objects.filter(business_date=AS_OF).delete()
        ClosedDay.objects.filter(business_date=AS_OF).delete()

    night = close_in_child(env)
    # The night runs every app's steps; the baseline redoes lending's, so compare those.
    lending_seconds = sum(run["ms"] for step, run in night["runs"].items() if step.startswith("lending.")) / 1000
    per_loan_setbased = lending_seconds / args.loans
    sampled, orm_seconds = orm_baseline(args.sample)
    per_loan_orm = orm_seconds / sampled
    print(f"book: {args.loans} open loans; night closed: {AS_OF}")
    for step, run in night["runs"].items():
        print(f"  {step:<20} {run['ms']:>7} ms  {run['rows']}")
    print(
        f"close_day steps 1-2: {lending_seconds:.2f} s, {per_loan_setbased * 1e6:.2f} us/loan "
        f"(the whole night {night['seconds']:.2f} s, peak RSS {night['peak_rss_mb']:.0f} MB)"
    )
    print(f"ORM loop baseline: {sampled} loans in {orm_seconds:.2f} s, {per_loan_orm * 1e6:.0f} us/loan")
    print(f"ratio per loan (ORM / set-based): {per_loan_orm / per_loan_setbased:.0f}x")


if __name__ == "__main__":
    main()
