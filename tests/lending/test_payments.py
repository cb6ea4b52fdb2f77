"""Payments through the service, on the database: each kind, idempotency, money conserved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from riskdesk import nightly
from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog
from riskdesk.lending import services
from riskdesk.lending.models import Allocation, Installment, Loan, Payment
from riskdesk.lending.selectors import payoff_quote
from tests.conftest import run_concurrently

D = Decimal


def assert_conserved(loan: Loan) -> None:
    """Money is never created or lost: payments = allocations + unapplied; paid = allocated."""
    loan.refresh_from_db()
    posted = loan.payments.filter(status="posted")
    paid_in = posted.aggregate(s=Sum("amount"))["s"] or D(0)
    unapplied = posted.aggregate(s=Sum("unapplied"))["s"] or D(0)
    lines = Allocation.objects.filter(loan=loan).aggregate(p=Sum("penalty"), i=Sum("interest"), c=Sum("principal"))
    allocated = sum((v or D(0) for v in lines.values()), D(0))
    assert allocated + unapplied == paid_in
    sums = Installment.objects.filter(loan=loan).aggregate(
        pd=Sum("principal_due"), pp=Sum("principal_paid"), ip=Sum("interest_paid"), np=Sum("penalty_paid")
    )
    assert sums["pd"] == loan.principal
    assert (sums["pp"], sums["ip"], sums["np"]) == (lines["c"] or D(0), lines["i"] or D(0), lines["p"] or D(0))
    assert loan.outstanding_principal == loan.principal - sums["pp"]


def post(loan: Loan, amount: str, on: date, kind: str = "regular", key: str = "k") -> Payment:
    payment, _ = services.payment_post(
        loan=loan, amount=D(amount), value_date=on, kind=kind, channel="app", idempotency_key=key
    )
    return payment


@pytest.mark.django_db
def test_a_regular_payment_is_allocated_penalty_interest_principal(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 10))
    payment = post(loan, "1000.00", date(2026, 3, 10))
    # Penalty 938.71 x 10 x 0.000675 = 6.34 first, then interest 151.20, then principal.
    assert list(payment.allocations.values_list("seq", "penalty", "interest", "principal")) == [
        (1, D("6.34"), D("151.20"), D("842.46"))
    ]
    assert_conserved(loan)


@pytest.mark.django_db
def test_a_prepayment_reamortises_and_conserves_principal(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    post(loan, "1089.91", date(2026, 2, 28), key="k1")
    post(loan, "5000.00", date(2026, 3, 15), "prepayment", key="k2")
    loan.refresh_from_db()
    assert loan.outstanding_principal == D("6061.29")
    assert loan.installments.get(seq=2).interest_due == D("118.30")
    assert_conserved(loan)


@pytest.mark.django_db
def test_a_payoff_for_the_quoted_amount_settles_the_loan(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 10))
    quote = payoff_quote(loan, date(2026, 3, 12))
    with pytest.raises(DomainError) as short:
        post(loan, str(quote["total"] - D("0.01")), date(2026, 3, 12), "payoff", key="short")
    assert short.value.code == "payoff_amount_mismatch"
    assert not Payment.objects.filter(idempotency_key="short").exists()
    post(loan, str(quote["total"]), date(2026, 3, 12), "payoff", key="payoff")
    loan.refresh_from_db()
    assert (loan.status, loan.paid_off_on, loan.outstanding_principal) == ("paid_off", date(2026, 3, 12), D("0.00"))
    assert_conserved(loan)
    with pytest.raises(DomainError) as closed:
        post(loan, "1.00", date(2026, 3, 13), key="after")
    assert closed.value.code == "loan_not_active"


@pytest.mark.django_db
def test_the_same_key_and_body_returns_the_original_payment(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    first, created = services.payment_post(
        loan=loan,
        amount=D("500.00"),
        value_date=date(2026, 2, 20),
        kind="regular",
        channel="app",
        idempotency_key="same",
    )
    again, created_again = services.payment_post(
        loan=loan,
        amount=D("500.00"),
        value_date=date(2026, 2, 20),
        kind="regular",
        channel="app",
        idempotency_key="same",
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert Payment.objects.count() == 1
    with pytest.raises(DomainError) as conflict:
        services.payment_post(
            loan=loan,
            amount=D("501.00"),
            value_date=date(2026, 2, 20),
            kind="regular",
            channel="app",
            idempotency_key="same",
        )
    assert (conflict.value.code, conflict.value.status) == ("idempotency_key_reused", 409)
    assert_conserved(loan)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "on", "code", "field"),
    [
        ("0.00", date(2026, 2, 20), "invalid_amount", "amount"),
        ("-5.00", date(2026, 2, 20), "invalid_amount", "amount"),
        ("10.001", date(2026, 2, 20), "invalid_amount", "amount"),
        ("100000000.01", date(2026, 2, 20), "invalid_amount", "amount"),
        ("10.00", date(2026, 11, 24), "future_value_date", "value_date"),
        ("10.00", date(2026, 1, 30), "value_date_before_disbursement", "value_date"),
        ("1089.92", date(2026, 2, 20), "exceeds_regular", "amount"),
    ],
)
def test_bad_payments_are_refused_and_write_nothing(
    make_loan: Callable[..., Loan], amount: str, on: date, code: str, field: str
) -> None:
    loan = make_loan()
    audit_rows = AuditLog.objects.count()
    with pytest.raises(DomainError) as refused:
        post(loan, amount, on)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert (Payment.objects.count(), Allocation.objects.count(), AuditLog.objects.count()) == (0, 0, audit_rows)
    loan.refresh_from_db()
    assert loan.outstanding_principal == D("12000.00")


@pytest.mark.django_db
def test_every_payment_and_reversal_writes_an_audit_row(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    payment = post(loan, "100.00", date(2026, 2, 10))
    services.payment_reverse(payment=payment, reason="bounced")
    actions = list(AuditLog.objects.filter(entity_type="lending.payment").values_list("action", "reason"))
    assert actions == [("payment.post", ""), ("payment.reverse", "bounced")]
    assert_conserved(loan)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_key_posted_concurrently_yields_one_payment(make_loan: Callable[..., Loan]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs Postgres row locks")
    loan = make_loan()
    results: list[object] = []

    def attempt(_: int) -> None:
        results.append(
            services.payment_post(
                loan=loan,
                amount=D("300.00"),
                value_date=date(2026, 2, 20),
                kind="regular",
                channel="app",
                idempotency_key="race",
            )[1]
        )

    assert run_concurrently(attempt, 4) == []
    assert sorted(results, key=str) == [False, False, False, True]
    assert Payment.objects.filter(idempotency_key="race").count() == 1
    assert_conserved(loan)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_payments_on_one_loan_end_with_exact_balances(make_loan: Callable[..., Loan]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs Postgres row locks")
    loan = make_loan()
    assert run_concurrently(lambda k: post(loan, "200.00", date(2026, 2, 20), key=f"c{k}"), 5) == []
    loan.refresh_from_db()
    assert Payment.objects.count() == 5
    # 1000 paid: interest 151.20 then 848.80 principal of installment 1.
    assert loan.outstanding_principal == D("12000.00") - D("848.80")
    assert_conserved(loan)
