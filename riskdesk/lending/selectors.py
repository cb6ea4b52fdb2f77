"""Reads of the lending book."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from riskdesk.core.access import book_part_visible_to
from riskdesk.core.dates import business_today
from riskdesk.core.jobs import last_done
from riskdesk.core.money import ZERO
from riskdesk.lending import engine, schedule
from riskdesk.lending.models import (
    Borrower,
    Bucket,
    CreditLine,
    GracePolicy,
    IncidentWindow,
    Installment,
    Loan,
    LoanArrangement,
    Payment,
)

DAY_STATE_STEP = "lending.day_state"


@dataclass(frozen=True)
class GraceTerms:
    grace_end: date
    penalty_from: date
    tolerance: Decimal
    policy: GracePolicy | None
    incident_days: int


def state_date() -> date | None:
    """The last business date whose lending state (DPD, buckets) is closed."""
    return last_done(DAY_STATE_STEP)


def state_date_for(loan_id: int) -> date | None:
    """The business date a loan's DPD and bucket are as of.

    The last closed day; or, while close of day is running, the day being closed once
    the chunk holding this loan is done (a payment then must not roll it back a day).
    """
    from riskdesk.core.models import JobChunk

    closed = state_date()
    running = (
        JobChunk.objects.filter(
            job_run__step=DAY_STATE_STEP,
            job_run__business_date__gt=closed or date.min,
            done=True,
            lo__lte=loan_id,
            hi__gte=loan_id,
        )
        .order_by("-job_run__business_date")
        .values_list("job_run__business_date", flat=True)
        .first()
    )
    return max((d for d in (closed, running) if d), default=None)


def buckets() -> list[engine.Bucket]:
    """The configured buckets by days past due (migration 0002 installs M0-M7+)."""
    rows = Bucket.objects.order_by("min_dpd").values_list("code", "min_dpd", "max_dpd")
    return [engine.Bucket(code, lo, hi) for code, lo, hi in rows]


class GraceBook:
    """The grace policies and incident windows of one product, loaded once."""

    def __init__(self, product_id: int) -> None:
        self.product_id = product_id
        self.product_policies = list(GracePolicy.objects.filter(product_id=product_id).order_by("effective_from"))
        self.defaults = list(GracePolicy.objects.filter(product__isnull=True).order_by("effective_from"))
        self.windows = list(IncidentWindow.objects.filter(Q(product_id=product_id) | Q(product__isnull=True)))
        self._terms: dict[date, GraceTerms] = {}

    def with_policy(self, policy: GracePolicy) -> GraceBook:
        """This book with an unsaved `policy` version added, replacing its scope's versions from its date on.

        The grace-policy preview replays the past as if a draft had been in force from
        `policy.effective_from`: the versions it would have superseded drop out. A version
        of another product changes nothing here.
        """
        book = copy.copy(self)
        book._terms = {}
        if policy.product_id is None:
            book.defaults = [p for p in self.defaults if p.effective_from < policy.effective_from] + [policy]
        elif policy.product_id == self.product_id:
            kept = [p for p in self.product_policies if p.effective_from < policy.effective_from]
            book.product_policies = kept + [policy]
        return book

    def with_window(self, window: IncidentWindow) -> GraceBook:
        """This book with an unsaved incident `window` added (if it covers this book's product)."""
        book = copy.copy(self)
        book._terms = {}
        if window.product_id in (None, self.product_id):
            book.windows = [*self.windows, window]
        return book

    def policy_on(self, due: date) -> GracePolicy | None:
        """The version in force on `due`: the product's own, else the default for all products."""
        for versions in (self.product_policies, self.defaults):
            in_force = [p for p in versions if p.effective_from <= due]
            if in_force:
                return in_force[-1]
        return None

    def terms_for(self, due: date) -> GraceTerms:
        # A book is read for many installments sharing few due dates (a bulk replay).
        if due not in self._terms:
            self._terms[due] = self._terms_of(due)
        return self._terms[due]

    def _terms_of(self, due: date) -> GraceTerms:
        policy = self.policy_on(due)
        grace_days = policy.grace_days if policy else 3
        incident_days = sum(w.extra_grace_days for w in self.windows if w.start <= due <= w.end)
        grace_end = due + timedelta(days=grace_days + incident_days)
        from_grace_end = policy is not None and policy.penalty_start == GracePolicy.PenaltyStart.GRACE_END
        tolerance = policy.arrears_tolerance if policy else Decimal("1.00")
        return GraceTerms(grace_end, grace_end if from_grace_end else due, tolerance, policy, incident_days)

    def engine_terms(self, due: date) -> engine.GraceTerms:
        """The grace terms of `due` as the engine takes them for an arrangement's new installments."""
        terms = self.terms_for(due)
        return engine.GraceTerms(terms.grace_end, terms.penalty_from, terms.tolerance)


def credit_line_available(line: CreditLine) -> Decimal:
    """Available = limit - outstanding principal while active; 0 while frozen or closed."""
    if line.status != CreditLine.Status.ACTIVE:
        return ZERO
    used = sum(line.loans.filter(status=Loan.Status.ACTIVE).values_list("outstanding_principal", flat=True), ZERO)
    return max(line.limit - used, ZERO)


def installment_status(inst: Installment, on: date) -> str:
    if inst.pi_settled_on and inst.penalty_paid >= inst.penalty_accrued:
        return "paid"
    if inst.superseded_on:
        return "rescheduled"
    if inst.due_date < on:
        return "in_grace" if on <= inst.grace_end else "overdue"
    if inst.due_date == on:
        return "due"
    return "partly_paid" if (inst.principal_paid or inst.interest_paid) else "scheduled"


def installments_for(
    loan: Loan, lines: list[schedule.ScheduleLine], book: GraceBook | None = None
) -> list[engine.InstallmentState]:
    """Schedule lines as engine installments, each with the grace terms of its due date (from `book`)."""
    book = book or GraceBook(loan.product_id)
    states = []
    for line in lines:
        grace = book.terms_for(line.due_date)
        states.append(
            engine.InstallmentState(
                seq=line.seq,
                period_start=line.period_start,
                due_date=line.due_date,
                grace_end=grace.grace_end,
                penalty_from=grace.penalty_from,
                tolerance=grace.tolerance,
                principal_due=line.principal,
                interest_due=line.interest,
            )
        )
    return states


def schedule_lines(loan: Loan) -> list[schedule.ScheduleLine]:
    """The loan's schedule at origination, without grace terms."""
    return schedule.build_schedule(
        principal=loan.principal,
        method=loan.method,
        term=loan.term,
        disbursed_on=loan.disbursed_on,
        daily_rate=loan.daily_rate,
    )


def original_schedule(loan: Loan) -> list[engine.InstallmentState]:
    """The loan's schedule at origination, with the grace terms in force on each due date."""
    return installments_for(loan, schedule_lines(loan))


def posted_payment_events(payments: list[Payment]) -> list[engine.PaymentEvent]:
    return [engine.PaymentEvent(p.id, p.value_date, p.amount, p.kind) for p in payments]


def arrangement_events(loan: Loan) -> list[engine.ArrangementEvent]:
    """A loan's arrangements as engine events, in the order they were carried out."""
    rows = LoanArrangement.objects.filter(loan=loan).order_by("effective_on", "id")
    return [engine.ArrangementEvent(a.id, a.effective_on, a.kind, a.months) for a in rows]


def loan_ledger(loan: Loan) -> engine.LoanLedger:
    """The engine's ledger of a loan with every posted payment applied, replayed from its terms.

    Replayed rather than read back from the stored installments: the ledger also knows
    the principal prepaid inside the running period, which the payoff quote needs.
    """
    payments = posted_payments(loan)
    return engine.replay(
        terms=loan.terms,
        installments=original_schedule(loan),
        payments=posted_payment_events(payments),
        buckets=buckets(),
        through=state_date() or loan.disbursed_on,
        arrangements=arrangement_events(loan),
        grace_for=GraceBook(loan.product_id).engine_terms,
    ).ledger


def payoff_quote(loan: Loan, on: date) -> dict[str, Decimal | date]:
    """What settles `loan` on `on` (every payment posted so far applied).

    A quote is for the disbursement date or later, and not before the value date of a
    payment already posted (that payment is in the balance the quote starts from).
    """
    from riskdesk.core.errors import DomainError

    if on < loan.disbursed_on:
        raise DomainError("date_before_disbursement", f"The loan was disbursed on {loan.disbursed_on}.", field="on")
    if loan.last_value_date and on < loan.last_value_date:
        raise DomainError(
            "date_before_last_payment",
            f"A quote starts from the payments and arrangements so far; the latest is dated {loan.last_value_date}.",
            field="on",
        )
    return {"on": on, **loan_ledger(loan).payoff_quote(on)}


# -- what a user may read of the book (riskdesk.core.access.book_part_visible_to) ---------
# Every read of a borrower, credit line or loan by a user goes through these: a collector
# reads the borrowers and loans of their cases and those loans' credit lines; what they may
# not read is a 404, as another collector's case is.


def loans_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Loan]:
    part = book_part_visible_to(user)
    return Loan.objects.all() if part is None else Loan.objects.filter(pk__in=part.loan_ids)


def borrowers_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Borrower]:
    part = book_part_visible_to(user)
    return Borrower.objects.all() if part is None else Borrower.objects.filter(pk__in=part.borrower_ids)


def credit_lines_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[CreditLine]:
    part = book_part_visible_to(user)
    if part is None:
        return CreditLine.objects.all()
    return CreditLine.objects.filter(pk__in=Loan.objects.filter(pk__in=part.loan_ids).values("credit_line_id"))


def loan_list(
    *,
    visible_to: AbstractBaseUser | AnonymousUser,
    status: str | None = None,
    bucket: str | None = None,
    borrower_id: int | None = None,
) -> QuerySet[Loan]:
    """The loans `visible_to` may read, newest first, filtered by status, bucket and borrower."""
    loans = loans_visible_to(visible_to).order_by("-id")
    if status:
        loans = loans.filter(status=status)
    if bucket:
        loans = loans.filter(bucket=bucket)
    if borrower_id:
        loans = loans.filter(borrower_id=borrower_id)
    return loans


def posted_payments(loan: Loan) -> list[Payment]:
    """A loan's payments that stand (not reversed), in the order the engine applies them."""
    return list(loan.payments.filter(status=Payment.Status.POSTED).order_by("value_date", "id"))


@dataclass(frozen=True)
class DelinquencyExplanation:
    """Why a loan has its days past due and penalty, in the desk's words."""

    as_of: date | None
    dpd: int
    bucket: str
    headline: str
    installment: Installment | None
    penalty_lines: list[dict[str, object]]


def explain_delinquency(loan: Loan) -> DelinquencyExplanation:
    """Name the installment behind the DPD, its due date, grace end, and each penalty's count."""
    as_of = state_date() or business_today()
    lines = []
    oldest = None
    penalty_rate = loan.daily_rate * loan.penalty_multiplier
    for inst in loan.installments.order_by("seq"):
        unpaid = inst.principal_due + inst.interest_due - inst.principal_paid - inst.interest_paid
        if oldest is None and inst.due_date < as_of and unpaid > inst.arrears_tolerance:
            oldest = inst
        if inst.penalty_accrued:
            end = inst.pi_settled_on or as_of
            lines.append(
                {
                    "seq": inst.seq,
                    "due_date": inst.due_date,
                    "grace_end": inst.grace_end,
                    "penalty_from": inst.penalty_from,
                    "days": max((end - inst.penalty_from).days, 0),
                    "rate": penalty_rate,
                    "amount": inst.penalty_accrued,
                    "paid": inst.penalty_paid,
                }
            )
    if loan.dpd == 0 or oldest is None:
        headline = "Current: no installment is past due beyond the arrears tolerance."
        if loan.status == Loan.Status.PAID_OFF:
            headline = f"Paid off on {loan.paid_off_on}."
    else:
        state = "in grace until" if loan.in_grace else "overdue since grace ended on"
        unpaid = oldest.principal_due + oldest.interest_due - oldest.principal_paid - oldest.interest_paid
        headline = (
            f"{loan.dpd} days past due on {as_of}: installment {oldest.seq} fell due on {oldest.due_date} "
            f"and {unpaid} of it is unpaid (over the {oldest.arrears_tolerance} tolerance); "
            f"{state} {oldest.grace_end}."
        )
    return DelinquencyExplanation(as_of, loan.dpd, loan.bucket, headline, oldest, lines)


def book_digest() -> str:
    """A SHA-256 over every balance, allocation, DPD, bucket, bucket change and line status of the book.

    Two books with the same digest agree to the cent and the day; tests use it to show
    that rerunning a closed day, or replaying a loan, changes nothing.
    """
    import hashlib

    from riskdesk.lending.models import Allocation, BucketHistory

    digest = hashlib.sha256()
    parts = [
        Loan.objects.order_by("id").values_list(
            "id",
            "status",
            "outstanding_principal",
            "overdue_amount",
            "penalty_accrued",
            "dpd",
            "bucket",
            "in_grace",
            "grace_end",
            "paid_off_on",
            "next_due_date",
        ),
        Installment.objects.order_by("loan_id", "seq").values_list(
            "loan_id",
            "seq",
            "principal_due",
            "interest_due",
            "principal_paid",
            "interest_paid",
            "penalty_accrued",
            "penalty_paid",
            "late_base_days",
            "pi_settled_on",
            "grace_end",
            "penalty_waived",
            "superseded_on",
        ),
        Allocation.objects.order_by("payment_id", "seq").values_list(
            "payment_id", "seq", "penalty", "interest", "principal"
        ),
        BucketHistory.objects.order_by("loan_id", "on").values_list("loan_id", "on", "from_bucket", "to_bucket", "dpd"),
        CreditLine.objects.order_by("id").values_list("id", "status", "freeze_reason", "frozen_on", "unfreeze_on"),
    ]
    for rows in parts:
        for row in rows.iterator(chunk_size=10000):
            digest.update(repr(tuple(str(v) for v in row)).encode())
    return digest.hexdigest()
