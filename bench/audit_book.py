"""Benchmark audit_book on a generated book, against a per-loan ORM check of the same rules.

    python bench/audit_book.py --loans 100000 [--sample 1000] [--reuse]

Needs Postgres (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/riskdesk_bench_audit_<N>;
dropped and created unless --reuse). Steps:
  1. migrate and `generate_book --loans N` (bench/close_day.py's helpers): a book closed through
     the day before AS_OF, every installment paid by its own payment and allocation;
  2. audit_book over the whole book, set-based (lending/conservation.py), timed, once per
     chunk size (the nightly step's CLOSE_DAY_CHUNK_LOANS, and the whole book in one range);
  3. the baseline: the same rules loan by loan through the ORM (the loan, its installments,
     payments and allocations) on a random sample, extrapolated to the book;
then prints both and the ratio.
"""

from __future__ import annotations

import os
import sys

# bench/collections.py shares its name with the standard library's `collections` (see bench/close_day.py).
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != os.path.dirname(os.path.realpath(__file__))]

import argparse
import importlib.util
import random
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType


def _close_day_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_close_day", Path(__file__).with_name("close_day.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


close_day = _close_day_bench()
AS_OF = close_day.AS_OF


def orm_check(sample: int, seed: int = 7) -> tuple[int, float, int]:
    """The conservation rules for `sample` random loans, one loan at a time through the ORM."""
    from riskdesk.lending.models import Loan

    ids = list(Loan.objects.values_list("id", flat=True))
    chosen = random.Random(seed).sample(ids, min(sample, len(ids)))
    broken = 0
    started = time.perf_counter()
    for loan_id in chosen:
        loan = Loan.objects.get(pk=loan_id)
        installments = list(loan.installments.all())
        payments = list(loan.payments.prefetch_related("allocations"))
        paid: dict[int, Decimal] = {}
        ok = sum(i.principal_due for i in installments) == loan.principal
        ok &= sum(i.principal_due - i.principal_paid for i in installments) == loan.outstanding_principal
        ok &= sum(i.penalty_accrued - i.penalty_paid for i in installments) == loan.penalty_accrued
        ok &= all(
            0 <= i.principal_paid <= i.principal_due and 0 <= i.interest_paid <= i.interest_due for i in installments
        )
        for payment in payments:
            lines = list(payment.allocations.all())
            ok &= payment.amount == sum(a.penalty + a.interest + a.principal for a in lines) + payment.unapplied
            for a in lines:
                paid[a.seq] = paid.get(a.seq, Decimal(0)) + a.penalty + a.interest + a.principal
        ok &= all(paid.get(i.seq, 0) == i.principal_paid + i.interest_paid + i.penalty_paid for i in installments)
        broken += not ok
    return len(chosen), time.perf_counter() - started, broken


def _default_new_borrower_columns(url: str) -> None:
    """Give lending 0009's address and bank_card a default in this database: generate_book's COPY predates them."""
    import psycopg2

    with psycopg2.connect(url) as db, db.cursor() as cursor:
        cursor.execute("ALTER TABLE lending_borrower ALTER address SET DEFAULT '', ALTER bank_card SET DEFAULT ''")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=1000, help="loans in the ORM baseline")
    parser.add_argument("--reuse", action="store_true", help="keep an existing generated book")
    args = parser.parse_args()

    url, env = close_day.bench_environment(
        f"postgres://postgres@127.0.0.1:5432/riskdesk_bench_audit_{args.loans}", AS_OF + timedelta(days=1)
    )
    if not args.reuse:
        close_day.recreate_database(url)
        close_day.manage("migrate", "--verbosity", "0", env=env)
        _default_new_borrower_columns(url)
        started = time.perf_counter()
        close_day.manage(
            "generate_book", "--loans", str(args.loans), "--as-of", AS_OF.isoformat(), "--verbosity", "0", env=env
        )
        print(f"generate_book --loans {args.loans}: {time.perf_counter() - started:.1f} s")

    import django

    django.setup()
    from django.conf import settings

    from riskdesk.lending.conservation import audit_book, book_ranges
    from riskdesk.lending.models import Installment, Loan, Payment

    loans = Loan.objects.count()
    print(
        f"book: {loans} loans, {Installment.objects.count()} installments, {Payment.objects.count()} payments "
        f"(closed through {AS_OF - timedelta(days=1)})"
    )
    timings = {}
    for label, size in (("nightly chunks", settings.CLOSE_DAY_CHUNK_LOANS), ("one range", loans * 10)):
        started = time.perf_counter()
        report = audit_book(ranges=book_ranges(size))
        timings[label] = time.perf_counter() - started
        print(f"audit_book, {label} ({len(book_ranges(size))}): {timings[label]:.2f} s, clean={report.clean}")
        if not report.clean:
            print(report.as_text())
    sampled, orm_seconds, broken = orm_check(args.sample)
    per_loan = orm_seconds / sampled
    best = min(timings.values())
    print(f"ORM loop baseline: {sampled} loans in {orm_seconds:.2f} s ({per_loan * 1e3:.2f} ms/loan, {broken} broken)")
    print(f"  extrapolated to {loans} loans: {per_loan * loans:.0f} s")
    print(f"ratio (ORM loop / audit_book): {per_loan * loans / best:.0f}x")


if __name__ == "__main__":
    main()
