"""Service guards found by fuzzing the API: each refusal names its field and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from riskdesk.core.errors import DomainError
from riskdesk.lending import services
from riskdesk.lending.models import AutodebitFailure, Borrower, CreditLine, Loan, Product
from riskdesk.lending.selectors import payoff_quote

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
