"""Payments racing each other, a reversal and close of day on one loan (Postgres row locks, threads).

Each thread has its own database connection (tests/conftest.py run_concurrently), as a web
worker would. RISKDESK_CONCURRENCY_THREADS raises the thread count for a longer run by hand.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Sum

from riskdesk import nightly
from riskdesk.core.errors import Conflict
from riskdesk.core.models import ClosedDay
from riskdesk.lending import services
from riskdesk.lending.conservation import audit_book
from riskdesk.lending.models import Allocation, BucketHistory, CreditLine, Installment, Loan, Payment
from tests.conftest import client_for, run_concurrently

D = Decimal
THREADS = int(os.environ.get("RISKDESK_CONCURRENCY_THREADS", "6"))
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def postgres_only(db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs Postgres row locks (SQLite serializes writers)")


def post(loan: Loan, amount: str, key: str, on: date = date(2026, 2, 20), kind: str = "regular") -> Payment:
    return services.payment_post(
        loan=loan, amount=D(amount), value_date=on, kind=kind, channel="app", idempotency_key=key
    )[0]


def assert_conserved(loan: Loan) -> None:
    """Allocations = posted payments less unapplied; the book passes audit_book."""
    posted = loan.payments.filter(status=Payment.Status.POSTED).aggregate(
        amount=Sum("amount", default=D(0)), unapplied=Sum("unapplied", default=D(0))
    )
    allocated = Allocation.objects.filter(loan=loan).aggregate(
        total=Sum("penalty", default=D(0)) + Sum("interest", default=D(0)) + Sum("principal", default=D(0))
    )["total"]
    assert allocated == posted["amount"] - posted["unapplied"]
    report = audit_book()
    assert report.clean, report.as_text()


def book_state() -> tuple[list[tuple[object, ...]], ...]:
    """What book_digest hashes, with allocations named by their payment's key (a rolled-back run spent ids)."""
    installment_fields = [f.name for f in Installment._meta.concrete_fields if f.name not in ("id", "loan")]
    return (
        list(Loan.objects.order_by("id").values_list(*[f.name for f in Loan._meta.concrete_fields])),
        list(Installment.objects.order_by("loan_id", "seq").values_list("loan_id", *installment_fields)),
        list(
            Allocation.objects.order_by("payment__idempotency_key", "seq").values_list(
                "payment__idempotency_key", "seq", "penalty", "interest", "principal"
            )
        ),
        list(BucketHistory.objects.order_by("loan_id", "on").values_list("loan_id", "on", "from_bucket", "to_bucket")),
        list(
            CreditLine.objects.order_by("id").values_list("id", "status", "freeze_reason", "frozen_on", "unfreeze_on")
        ),
    )


def test_payments_with_different_keys_on_one_loan_end_with_exact_balances(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()  # installment 1 is 151.20 interest + 938.71 principal, due Feb 28
    amount = D("150.00")
    errors = run_concurrently(lambda k: post(loan, str(amount), f"t{k}"), THREADS)
    assert errors == []
    loan.refresh_from_db()
    paid = amount * THREADS
    first, second = loan.installments.order_by("seq")[:2]
    interest = min(paid, D("151.20"))
    principal = min(paid - interest, D("938.71"))
    assert (first.interest_paid, first.principal_paid) == (interest, principal)
    # Whatever is left after installment 1 goes to installment 2 (interest first): none at the default six threads.
    assert second.interest_paid + second.principal_paid == paid - interest - principal
    assert loan.outstanding_principal == D("12000.00") - principal - second.principal_paid
    assert Payment.objects.filter(loan=loan).count() == THREADS
    assert sorted(Payment.objects.values_list("unapplied", flat=True)) == [D("0.00")] * THREADS
    assert_conserved(loan)


def test_the_same_key_posted_concurrently_through_the_api_yields_one_payment(
    make_loan: Callable[..., Loan], users: dict[str, User]
) -> None:
    loan = make_loan()
    answers: list[tuple[int, int]] = []

    def attempt(_: int) -> None:
        response = client_for(users["collections_supervisor"]).post(
            f"/api/v1/loans/{loan.pk}/payments/",
            {"amount": "300.00", "value_date": "2026-02-20", "kind": "regular", "channel": "app"},
            content_type="application/json",
            headers={"Idempotency-Key": "api-race"},
        )
        answers.append((response.status_code, response.json()["id"]))

    assert run_concurrently(attempt, THREADS) == []
    payment = Payment.objects.get(idempotency_key="api-race")
    assert Counter(answers) == {(201, payment.pk): 1, (200, payment.pk): THREADS - 1}
    assert list(Allocation.objects.filter(loan=loan).values_list("payment_id", "interest", "principal")) == [
        (payment.pk, D("151.20"), D("148.80"))
    ]
    assert_conserved(loan)


def test_the_same_key_with_different_bodies_concurrently_is_one_payment_and_clean_conflicts(
    make_loan: Callable[..., Loan], users: dict[str, User]
) -> None:
    loan = make_loan()
    answers: list[tuple[int, str, str]] = []

    def attempt(k: int) -> None:
        amount = "100.00" if k % 2 else "200.00"
        response = client_for(users["collections_supervisor"]).post(
            f"/api/v1/loans/{loan.pk}/payments/",
            {"amount": amount, "value_date": "2026-02-20", "kind": "regular", "channel": "app"},
            content_type="application/json",
            headers={"Idempotency-Key": "mixed"},
        )
        body = response.json()
        answers.append((response.status_code, amount, body.get("amount") or body["error"]["code"]))

    assert run_concurrently(attempt, THREADS) == []
    payment = Payment.objects.get(idempotency_key="mixed")
    winner = f"{payment.amount:.2f}"
    loser = "100.00" if winner == "200.00" else "200.00"
    expected = Counter(
        [(201, winner, winner)]
        + [(200, winner, winner)] * (THREADS // 2 - 1)
        + [(409, loser, "idempotency_key_reused")] * (THREADS // 2)
    )
    assert Counter(answers) == expected
    assert Payment.objects.count() == 1
    assert_conserved(loan)


def test_a_payment_and_a_reversal_racing_end_as_if_one_came_after_the_other(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    bounced = post(loan, "500.00", "bounced", on=date(2026, 2, 10))

    def race(k: int) -> None:
        if k == 0:
            services.payment_reverse(payment=bounced, reason="autodebit bounced")
        else:
            post(loan, "400.00", "fresh", on=date(2026, 2, 20))

    assert run_concurrently(race, 2) == []
    bounced.refresh_from_db()
    loan.refresh_from_db()
    assert bounced.status == Payment.Status.REVERSED
    assert list(
        Allocation.objects.filter(loan=loan).values_list("payment__idempotency_key", "interest", "principal")
    ) == [("fresh", D("151.20"), D("248.80"))]
    assert loan.outstanding_principal == D("12000.00") - D("248.80")
    # A second reversal of the same payment, racing itself, is refused cleanly once.
    errors = run_concurrently(lambda _: services.payment_reverse(payment=bounced, reason="again"), 2)
    assert [type(e) for e in errors] == [Conflict, Conflict]
    assert_conserved(loan)


def test_a_payment_racing_the_nights_accrual_on_its_loan_ends_as_if_they_ran_in_turn(
    make_loan: Callable[..., Loan],
) -> None:
    loan = make_loan()
    # Nothing falls due before Feb 28: the nights before it change nothing, so the book starts closing there.
    ClosedDay.objects.create(business_date=date(2026, 2, 26))
    nightly.close_days(as_of=date(2026, 3, 9))  # overdue since Mar 4: the night accrues its penalty
    day = date(2026, 3, 10)
    # The same two events one after the other, in each order, rolled back. The orders differ only
    # in the credit line: a night before the payment leaves it frozen until the next night.
    in_turn = []
    for order in ("payment first", "night first"):
        with transaction.atomic():
            if order == "payment first":
                post(loan, "1200.00", "late", on=day)
            nightly.close_days(as_of=day)
            if order == "night first":
                post(loan, "1200.00", "late", on=day)
            in_turn.append(book_state())
            transaction.set_rollback(True)
    assert in_turn[0] != in_turn[1]

    def race(k: int) -> None:
        if k == 0:
            nightly.close_days(as_of=day)
        else:
            post(loan, "1200.00", "late", on=day)

    assert run_concurrently(race, 2) == []
    assert book_state() in in_turn
    loan.refresh_from_db()
    assert (loan.dpd, loan.bucket, loan.penalty_accrued) == (0, "M0", D("0.00"))  # installment 1 paid, with its penalty
    assert_conserved(loan)
