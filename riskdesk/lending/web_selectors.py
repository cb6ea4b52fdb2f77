"""Reads for the web desk's pages, beyond the lending selectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, Q, QuerySet

from riskdesk.core import masking
from riskdesk.core.dates import business_today
from riskdesk.core.models import JobRun
from riskdesk.lending import selectors
from riskdesk.lending.models import (
    Allocation,
    Borrower,
    Bucket,
    CreditLine,
    CreditLineEvent,
    Installment,
    Loan,
    Payment,
    Product,
)

DELINQUENCY_STATES = ("current", "in_grace", "overdue")


def loan_search(
    *,
    visible_to: AbstractBaseUser | AnonymousUser,
    query: str = "",
    status: str = "",
    bucket: str = "",
    product: Product | None = None,
    delinquency: str = "",
) -> QuerySet[Loan]:
    """The loans `visible_to` may read matching a loan id or a borrower's exact national ID, and the filters.

    A query of digits short enough to be a loan id matches that id *or* a national ID
    equal to it; national IDs are compared exactly (an index lookup, never LIKE).
    """
    loans = selectors.loan_list(visible_to=visible_to, status=status or None, bucket=bucket or None)
    loans = loans.select_related("borrower", "product")
    query = query.strip()
    if query:
        match = Q(borrower__national_id=query)
        if query.isdigit() and len(query) <= 12:
            match |= Q(pk=int(query))
        loans = loans.filter(match)
    if product is not None:
        loans = loans.filter(product=product)
    if delinquency == "current":
        loans = loans.filter(dpd=0)
    elif delinquency == "in_grace":
        loans = loans.filter(dpd__gt=0, in_grace=True)
    elif delinquency == "overdue":
        loans = loans.filter(dpd__gt=0, in_grace=False)
    return loans


def bucket_codes() -> list[str]:
    return list(Bucket.objects.order_by("min_dpd").values_list("code", flat=True))


@dataclass(frozen=True)
class ScheduleRow:
    installment: Installment
    status: str

    @property
    def penalty_unpaid(self) -> Decimal:
        return self.installment.penalty_accrued - self.installment.penalty_paid

    @property
    def unpaid(self) -> Decimal:
        i = self.installment
        return i.principal_due + i.interest_due - i.principal_paid - i.interest_paid + self.penalty_unpaid


@dataclass(frozen=True)
class LoanPage:
    """Everything the loan page shows, each list loaded in one query."""

    loan: Loan
    as_of: date
    explanation: selectors.DelinquencyExplanation
    oldest_unpaid: Decimal | None
    schedule: list[ScheduleRow]
    payments: list[Payment]
    autodebit_failures: list[Any]
    bucket_history: list[Any]
    credit_line: CreditLine
    credit_line_available: Decimal
    credit_line_events: list[CreditLineEvent]
    borrower: dict[str, str]  # the borrower's identity masked, for every role: unmasking is a reveal, audited


def loan_for_page(loan_id: int, *, visible_to: AbstractBaseUser | AnonymousUser) -> Loan:
    """The loan if `visible_to` may read it; Loan.DoesNotExist otherwise."""
    loans = selectors.loans_visible_to(visible_to)
    return loans.select_related("borrower", "product", "credit_line").get(pk=loan_id)


def loan_page(loan: Loan) -> LoanPage:
    """The loan with its schedule, payments and allocations, failures, buckets and line."""
    as_of = selectors.state_date() or business_today()
    explanation = selectors.explain_delinquency(loan)
    oldest = explanation.installment
    oldest_unpaid = (
        oldest.principal_due + oldest.interest_due - oldest.principal_paid - oldest.interest_paid if oldest else None
    )
    installments = list(loan.installments.order_by("seq"))
    payments = list(
        loan.payments.order_by("value_date", "id").prefetch_related(
            Prefetch("allocations", queryset=Allocation.objects.order_by("seq"))
        )
    )
    line = loan.credit_line
    return LoanPage(
        loan=loan,
        as_of=as_of,
        explanation=explanation,
        oldest_unpaid=oldest_unpaid,
        schedule=[ScheduleRow(i, selectors.installment_status(i, on=as_of)) for i in installments],
        payments=payments,
        autodebit_failures=list(loan.autodebit_failures.order_by("-attempted_on", "-id")),
        bucket_history=list(loan.bucket_history.order_by("on")),
        credit_line=line,
        credit_line_available=selectors.credit_line_available(line),
        credit_line_events=list(line.events.select_related("loan").order_by("on", "id")),
        borrower=masked_identity(loan.borrower),
    )


def masked_identity(borrower: Borrower) -> dict[str, str]:
    """The borrower's name, national ID, address and card, each masked (empty stays empty)."""
    return {
        "name": masking.mask("name", borrower.name),
        "national_id": masking.mask("national_id", borrower.national_id),
        "address": masking.mask("address", borrower.address),
        "bank_card": masking.mask("card", borrower.bank_card),
    }


def recent_job_runs(days: int = 14) -> list[tuple[date, list[JobRun]]]:
    """The close-of-day job runs of the latest `days` business dates, newest first."""
    dates = list(JobRun.objects.order_by("-business_date").values_list("business_date", flat=True).distinct()[:days])
    runs = JobRun.objects.filter(business_date__in=dates).order_by("-business_date", "id")
    by_date: dict[date, list[JobRun]] = {d: [] for d in dates}
    for run in runs:
        by_date[run.business_date].append(run)
    return list(by_date.items())
