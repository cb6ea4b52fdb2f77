"""The small book both API suites post against: a loan two installments late, a payment, its case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from riskdesk.collections.models import Case, Queue
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, CreditLine, Loan, Payment, Product
from tests.conftest import TODAY


@dataclass
class LateLoan:
    product: Product
    borrower: Borrower
    credit_line: CreditLine
    loan: Loan
    payment: Payment
    case: Case
    collector: User


@pytest.fixture
def late_loan(users: dict[str, User], product: Product, borrower: Borrower, credit_line: CreditLine) -> LateLoan:
    """6,000.00 over 6 months, disbursed 75 days ago, 100.00 paid 40 days ago; its case is the collector's."""
    loan = services.loan_originate(
        credit_line=credit_line,
        product=product,
        principal=Decimal("6000.00"),
        term=6,
        method="equal_installment",
        disbursed_on=TODAY - timedelta(days=75),
    )
    payment, _ = services.payment_post(
        loan=loan,
        amount=Decimal("100.00"),
        value_date=TODAY - timedelta(days=40),
        kind=Payment.Kind.REGULAR,
        channel=Payment.Channel.APP,
        reference="book",
        idempotency_key="book-1",
        actor=users["admin"],
    )
    case = Case.objects.create(
        borrower=borrower,
        stage="mid",
        worst_bucket="M2",
        max_dpd=45,
        overdue_amount=Decimal("1100.00"),
        opened_on=TODAY,
        updated_on=TODAY,
        assigned_to=users["collector"],
        queue=Queue.objects.filter(code="mid").first(),
    )
    case.loans.add(loan)
    return LateLoan(product, borrower, credit_line, loan, payment, case, users["collector"])
