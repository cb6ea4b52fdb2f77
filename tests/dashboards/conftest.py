"""A seeded book for the dashboards: real services and real nights, built once per module.

`seeded_book` originates 24 loans on two products (disbursed 2026-07-10 and 2026-08-05),
posts their payments day by day as the nights close, and closes every night through
2026-11-22 (TODAY - 1) with `riskdesk.nightly.close_days`, every step included. The loans
behave by kind:

* `good`: every installment paid on its due date;
* `late_once`: the first installment paid 10 days late (M1, never 30+), then on time;
* `cured`: nothing paid until 5 days after the second due date (past 30 days, M2), then
  everything overdue paid at once and on time after;
* `never`: nothing ever paid (the July loans are past 90 days by 2026-11-22, the August
  ones in M3);
* `paid_off`: paid off on 2026-09-20.

The book is built inside a transaction rolled back after the module, so each test
module that uses it sees it fresh and leaves the database as it found it. Tests use it
with the usual `db` fixture (their changes roll back to the seeded state).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from riskdesk import nightly
from riskdesk.lending import services
from riskdesk.lending.models import Loan, Product
from riskdesk.lending.selectors import payoff_quote

LAST_CLOSED = date(2026, 11, 22)
JULY, AUGUST = date(2026, 7, 10), date(2026, 8, 5)
# (product, disbursed_on, principal, term, kind)
LOANS = [
    ("jiebei", JULY, "12000.00", 12, "good"),
    ("jiebei", JULY, "6000.00", 6, "good"),
    ("jiebei", JULY, "3000.00", 3, "good"),
    ("jiebei", JULY, "9000.00", 12, "late_once"),
    ("jiebei", JULY, "8000.00", 12, "cured"),
    ("jiebei", JULY, "5000.00", 6, "never"),
    ("jiebei", JULY, "7000.00", 12, "never"),
    ("jiebei", JULY, "4000.00", 6, "paid_off"),
    ("jiebei", AUGUST, "10000.00", 12, "good"),
    ("jiebei", AUGUST, "2400.00", 6, "good"),
    ("jiebei", AUGUST, "3600.00", 6, "late_once"),
    ("jiebei", AUGUST, "4800.00", 12, "cured"),
    ("jiebei", AUGUST, "6600.00", 12, "never"),
    ("xiaodai", JULY, "2000.00", 3, "good"),
    ("xiaodai", JULY, "3000.00", 6, "good"),
    ("xiaodai", JULY, "1500.00", 3, "late_once"),
    ("xiaodai", JULY, "2500.00", 6, "never"),
    ("xiaodai", JULY, "1800.00", 6, "cured"),
    ("xiaodai", AUGUST, "2200.00", 6, "good"),
    ("xiaodai", AUGUST, "1200.00", 3, "good"),
    ("xiaodai", AUGUST, "2600.00", 6, "never"),
    ("xiaodai", AUGUST, "1000.00", 3, "paid_off"),
    ("xiaodai", AUGUST, "3300.00", 6, "late_once"),
    ("xiaodai", AUGUST, "2700.00", 6, "cured"),
]


@dataclass
class SeededBook:
    products: dict[str, Product]
    loans: dict[str, list[Loan]] = field(default_factory=lambda: defaultdict(list))
    last_closed: date = LAST_CLOSED

    def all_loans(self) -> list[Loan]:
        return [loan for loans in self.loans.values() for loan in loans]


def _product(code: str) -> Product:
    return Product.objects.create(
        code=code,
        name=code,
        daily_rate=Decimal("0.00045") if code == "jiebei" else Decimal("0.0006"),
        penalty_multiplier=Decimal("1.5"),
        methods=["equal_installment"],
        terms=[3, 6, 12],
        min_amount=Decimal("100.00"),
        max_amount=Decimal("200000.00"),
    )


def _originate(book: SeededBook) -> None:
    for k, (code, disbursed_on, principal, term, kind) in enumerate(LOANS):
        borrower = services.borrower_register(
            name=f"seeded {k}",
            national_id=f"11010119900101{k:04d}",
            phones=[{"number": f"1380013{k:04d}", "label": "mobile"}],
        )
        line = services.credit_line_open(borrower=borrower, limit=Decimal("100000.00"), on=disbursed_on)
        loan = services.loan_originate(
            credit_line=line,
            product=book.products[code],
            principal=Decimal(principal),
            term=term,
            method="equal_installment",
            disbursed_on=disbursed_on,
        )
        book.loans[kind].append(loan)


def _pay(loan: Loan, on: date, amount: Decimal, kind: str = "regular") -> None:
    services.payment_post(
        loan=loan,
        amount=amount,
        value_date=on,
        kind=kind,
        channel="app",
        idempotency_key=f"seed-{loan.pk}-{on}-{kind}",
    )


def _installment(loan: Loan, seq: int) -> Decimal:
    row = loan.installments.get(seq=seq)
    return row.principal_due + row.interest_due


def _plan(book: SeededBook) -> dict[date, list[tuple[Loan, str, int]]]:
    """What each loan pays on which day: (loan, what, installment seq)."""
    plan: dict[date, list[tuple[Loan, str, int]]] = defaultdict(list)
    for kind, loans in book.loans.items():
        for loan in loans:
            dues = list(loan.installments.order_by("seq").values_list("seq", "due_date"))
            for seq, due in dues:
                if due > LAST_CLOSED:
                    break
                if kind == "good" or (kind == "late_once" and seq > 1) or (kind == "cured" and seq > 2):
                    plan[due].append((loan, "installment", seq))
                elif kind == "late_once":
                    plan[due + timedelta(days=10)].append((loan, "installment", seq))
                elif kind == "cured" and seq == 2:
                    plan[due + timedelta(days=5)].append((loan, "overdue", seq))
            if kind == "paid_off":
                plan[date(2026, 9, 20)].append((loan, "payoff", 0))
    return plan


def seeded_book_build() -> SeededBook:
    """Originate, then alternate nights and payments so each payment is posted on its day."""
    book = SeededBook(products={code: _product(code) for code in ("jiebei", "xiaodai")})
    _originate(book)
    for day, payments in sorted(_plan(book).items()):
        nightly.close_days(as_of=day - timedelta(days=1))
        for loan, what, seq in payments:
            loan.refresh_from_db()
            if what == "installment":
                _pay(loan, day, _installment(loan, seq))
            elif what == "overdue":
                # Everything overdue (penalty accrued to last night included) and a little over.
                _pay(loan, day, loan.overdue_amount + Decimal("20.00"))
            else:
                _pay(loan, day, payoff_quote(loan, day)["total"], kind="payoff")
    nightly.close_days(as_of=LAST_CLOSED)
    for loan in book.all_loans():
        loan.refresh_from_db()
    return book


@pytest.fixture(scope="module")
def seeded_book(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[SeededBook]:
    with django_db_blocker.unblock(), override_settings(BUSINESS_DATE_OVERRIDE="2026-11-23"):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield seeded_book_build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
