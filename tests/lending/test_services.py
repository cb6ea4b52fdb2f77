"""Service guards found by fuzzing the API: each refusal names its field and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from riskdesk import nightly
from riskdesk.core.errors import DomainError
from riskdesk.core.models import JobChunk, JobRun
from riskdesk.lending import services
from riskdesk.lending.models import AutodebitFailure, Borrower, CreditLine, Loan, Product
from riskdesk.lending.selectors import DAY_STATE_STEP, payoff_quote, state_date_for

pytestmark = pytest.mark.django_db


def test_a_loan_cannot_be_booked_more_than_three_years_back(product: Product, credit_line: CreditLine) -> None:
    with pytest.raises(DomainError) as refused:
        services.loan_originate(
            credit_line=credit_line,
            product=product,
            principal=Decimal("1000.00"),
            term=3,
            method="equal_principal",
            disbursed_on=date(1, 1, 1),
        )
    assert (refused.value.code, refused.value.field) == ("disbursement_too_old", "disbursed_on")
    assert not Loan.objects.exists()


def test_an_autodebit_failure_is_neither_in_the_future_nor_before_the_loan(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    for attempted_on, code in ((date(2099, 1, 1), "future_date"), (date(2026, 1, 1), "before_disbursement")):
        with pytest.raises(DomainError) as refused:
            services.autodebit_failure_record(
                loan=loan, attempted_on=attempted_on, amount=Decimal("10.00"), cause="bank_error"
            )
        assert (refused.value.code, refused.value.field) == (code, "attempted_on")
    assert not AutodebitFailure.objects.exists()


def test_a_phone_given_twice_is_refused_not_a_crash(db: None) -> None:
    with pytest.raises(DomainError) as refused:
        services.borrower_register(
            name="李四",
            national_id="110101199002023456",
            phones=[{"number": "13900139000"}, {"number": "13900139000"}],
        )
    assert (refused.value.code, refused.value.field) == ("duplicate_phone", "phones")
    assert not Borrower.objects.exists()


def test_a_payoff_quote_is_not_given_for_a_date_before_the_last_payment(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    services.payment_post(
        loan=loan,
        amount=Decimal("1089.91"),
        value_date=date(2026, 2, 28),
        kind="regular",
        channel="app",
        idempotency_key="q",
    )
    loan.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        payoff_quote(loan, date(2026, 2, 27))
    assert refused.value.code == "date_before_last_payment"
    # Principal left: 12000 - 938.71 = 11061.29; 3 days of interest on it = 14.9327 -> 14.93.
    assert payoff_quote(loan, date(2026, 3, 3))["total"] == Decimal("11061.29") + Decimal("14.93")


def test_a_product_code_is_unique(product: Product) -> None:
    with pytest.raises(DomainError) as refused:
        services.product_create(
            code="jiebei",
            name="again",
            daily_rate=Decimal("0.00045"),
            methods=["bullet"],
            terms=[30],
            min_amount=Decimal("100.00"),
            max_amount=Decimal("1000.00"),
        )
    assert (refused.value.code, refused.value.status) == ("product_exists", 409)


def test_the_payoff_quote_follows_a_prepayment_in_the_running_period(make_loan: Callable[..., Loan]) -> None:
    """Review finding: the quote must know the principal prepaid inside the current period."""
    loan = make_loan()
    services.payment_post(
        loan=loan,
        amount=Decimal("3000.00"),
        value_date=date(2026, 2, 15),
        kind="prepayment",
        channel="app",
        idempotency_key="pre",
    )
    loan.refresh_from_db()
    quote = payoff_quote(loan, date(2026, 2, 20))
    # Interest to Feb 20: (12000 x 20 days - 3000 x 5 days) x 0.00045 = 101.25.
    assert (quote["principal"], quote["interest"], quote["total"]) == (
        Decimal("9000.00"),
        Decimal("101.25"),
        Decimal("9101.25"),
    )
    services.payment_post(
        loan=loan,
        amount=quote["total"],
        value_date=date(2026, 2, 20),
        kind="payoff",
        channel="app",
        idempotency_key="off",
    )
    loan.refresh_from_db()
    assert (loan.status, loan.outstanding_principal, loan.next_due_date) == ("paid_off", Decimal("0.00"), None)


def test_an_incident_window_refunds_the_penalty_of_a_paid_off_loan(make_loan: Callable[..., Loan]) -> None:
    """Review finding: paid-off loans are replayed too; the penalty becomes money to refund."""
    loan = make_loan(principal="3000.00", term=1, method="equal_principal")
    nightly.close_days(as_of=date(2026, 3, 9))
    # 3000 + 37.80 interest + penalty 3000 x 10 days x 0.000675 = 20.25.
    payment, _ = services.payment_post(
        loan=loan,
        amount=Decimal("3058.05"),
        value_date=date(2026, 3, 10),
        kind="payoff",
        channel="app",
        idempotency_key="p",
    )
    services.incident_window_create(
        product=None, start=date(2026, 2, 27), end=date(2026, 3, 1), extra_grace_days=10, reason="autodebit outage"
    )
    loan.refresh_from_db()
    payment.refresh_from_db()
    assert (loan.status, loan.penalty_accrued) == ("paid_off", Decimal("0.00"))
    assert loan.installments.get().grace_end == date(2026, 3, 13)
    assert payment.unapplied == Decimal("20.25")


def test_a_loan_whose_chunk_of_tonight_is_done_is_at_tonights_date(make_loan: Callable[..., Loan]) -> None:
    """Review finding: a payment during the night must not roll a closed chunk's loan back a day."""
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 9))
    run = JobRun.objects.create(step=DAY_STATE_STEP, business_date=date(2026, 3, 10), status="running")
    JobChunk.objects.create(job_run=run, lo=loan.pk + 1, hi=loan.pk + 10, done=True)
    assert state_date_for(loan.pk) == date(2026, 3, 9)
    JobChunk.objects.create(job_run=run, lo=loan.pk, hi=loan.pk, done=True)
    assert state_date_for(loan.pk) == date(2026, 3, 10)
