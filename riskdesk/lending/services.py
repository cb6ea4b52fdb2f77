"""Writes to the lending book: each atomic, each with its audit row."""

from __future__ import annotations

import hashlib
import json
import zoneinfo
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone as django_timezone

from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.dates import business_today
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.money import quantize_money
from riskdesk.core.sql import date_param
from riskdesk.lending import engine, schedule
from riskdesk.lending.models import (
    Allocation,
    AutodebitFailure,
    Borrower,
    BucketHistory,
    ContactPoint,
    CreditLine,
    CreditLineEvent,
    EmergencyContact,
    GracePolicy,
    IncidentWindow,
    Installment,
    Loan,
    LoanArrangement,
    Payment,
    Product,
)
from riskdesk.lending.selectors import (
    GraceBook,
    arrangement_events,
    buckets,
    credit_line_available,
    installments_for,
    loan_ledger,
    original_schedule,
    posted_payment_events,
    posted_payments,
    state_date,
    state_date_for,
)

MAX_AMOUNT = Decimal("100000000.00")
# How far back a loan may be booked when no day is closed yet (a book being migrated
# in); past that a typo like 0001-01-01 would make the first night close for ages.
MAX_BACKDATE_DAYS = 3 * 366


def _require_money(value: Decimal, field: str, *, positive: bool = True) -> Decimal:
    if value != quantize_money(value):
        raise DomainError("invalid_amount", f"{field} has more than two decimal places.", field=field)
    if (positive and value <= 0) or value < 0:
        raise DomainError("invalid_amount", f"{field} must be greater than zero.", field=field)
    if value > MAX_AMOUNT:
        raise DomainError("invalid_amount", f"{field} is larger than {MAX_AMOUNT}.", field=field)
    return value


def refuse_closed_past(day: date, field: str, what: str) -> None:
    closed = state_date()
    if closed is not None and day <= closed:
        raise DomainError(
            "date_in_closed_past",
            f"{what} must be after the last closed business day ({closed}): the past is not rewritten.",
            field=field,
        )


# -- products ----------------------------------------------------------------------


def product_create(*, actor: Actor = None, **fields: Any) -> Product:
    """Add a product; its code is unique (409 when taken)."""
    taken = Conflict("product_exists", "A product with this code already exists.", field="code")
    if Product.objects.filter(code=fields["code"]).exists():
        raise taken
    try:
        with transaction.atomic():
            product = Product.objects.create(**fields)
            audit_record(actor=actor, action="product.create", entity=product, after=fields)
    except IntegrityError:
        raise taken from None  # a concurrent request took the code first
    return product


# -- borrowers and credit lines --------------------------------------------------


def borrower_register(
    *,
    name: str,
    national_id: str,
    phones: list[dict[str, str]],
    email: str = "",
    timezone: str = "Asia/Shanghai",
    language: str = "zh-hans",
    emergency_contacts: list[dict[str, Any]] | None = None,
    address: str = "",
    bank_card: str = "",
    actor: Actor = None,
) -> Borrower:
    """Register a borrower with the contact points and emergency contacts they gave, their address and card."""
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DomainError("invalid_timezone", f"Unknown time zone {timezone!r}.", field="timezone") from None
    numbers = [p["number"] for p in phones]
    if len(set(numbers)) != len(numbers):
        raise DomainError("duplicate_phone", "The same phone number is given twice.", field="phones")
    if any(not c.get("consent") for c in emergency_contacts or []):
        raise DomainError(
            "consent_required",
            "An emergency contact needs the borrower's recorded consent.",
            field="emergency_contacts",
        )
    taken = Conflict("borrower_exists", "A borrower with this national ID is already registered.", field="national_id")
    if Borrower.objects.filter(national_id=national_id).exists():
        raise taken
    try:
        with transaction.atomic():
            borrower = Borrower.objects.create(
                name=name,
                national_id=national_id,
                email=email,
                timezone=timezone,
                language=language,
                address=address,
                bank_card=bank_card,
            )
            points = [
                ContactPoint(borrower=borrower, kind="phone", value=n, label=p.get("label", ""))
                for n, p in zip(numbers, phones, strict=True)
            ]
            if email:
                points.append(ContactPoint(borrower=borrower, kind="email", value=email, label="email"))
            points.append(ContactPoint(borrower=borrower, kind="app", value=f"app:{borrower.pk}", label="app"))
            ContactPoint.objects.bulk_create(points)
            EmergencyContact.objects.bulk_create(
                EmergencyContact(borrower=borrower, **c) for c in emergency_contacts or []
            )
            audit_record(
                actor=actor, action="borrower.register", entity=borrower, after={"contact_points": len(points)}
            )
    except IntegrityError:
        raise taken from None  # a concurrent registration of the same person
    return borrower


@transaction.atomic
def credit_line_open(*, borrower: Borrower, limit: Decimal, actor: Actor = None, on: date | None = None) -> CreditLine:
    _require_money(limit, "limit")
    line = CreditLine.objects.create(borrower=borrower, limit=limit)
    CreditLineEvent.objects.create(
        credit_line=line, on=on or business_today(), kind="opened", reason="opened", limit_after=limit
    )
    audit_record(actor=actor, action="credit_line.open", entity=line, after={"limit": limit})
    return line


@transaction.atomic
def credit_line_change_limit(
    *, credit_line: CreditLine, limit: Decimal, reason: str, actor: Actor = None
) -> CreditLine:
    """Set a new limit with a reason code (scoring may reduce a limit)."""
    _require_money(limit, "limit", positive=False)
    line = CreditLine.objects.select_for_update().get(pk=credit_line.pk)
    before = line.limit
    line.limit = limit
    line.save(update_fields=["limit"])
    CreditLineEvent.objects.create(
        credit_line=line,
        on=business_today(),
        kind="limit_change",
        reason=reason,
        limit_before=before,
        limit_after=limit,
    )
    audit_record(
        actor=actor,
        action="credit_line.limit_change",
        entity=line,
        before={"limit": before},
        after={"limit": limit},
        reason=reason,
    )
    return line


def frozen_message(line: CreditLine) -> str:
    """Why a line is frozen and when it lifts, in the desk's words."""
    reason = CreditLine.Reason(line.freeze_reason).label if line.freeze_reason else "frozen"
    if line.unfreeze_on:
        return f"The credit line is frozen ({reason}) since {line.frozen_on}; it lifts on {line.unfreeze_on}."
    if line.freeze_reason == CreditLine.Reason.LOAN_OVERDUE:
        return (
            f"The credit line is frozen ({reason}) since {line.frozen_on}; it lifts after every overdue loan is "
            f"repaid and the cooling-off period has passed."
        )
    return f"The credit line is frozen ({reason}) since {line.frozen_on}."


# -- loans -------------------------------------------------------------------------


@transaction.atomic
def loan_originate(
    *,
    credit_line: CreditLine,
    product: Product,
    principal: Decimal,
    term: int,
    method: str,
    disbursed_on: date,
    actor: Actor = None,
) -> Loan:
    """Draw a loan from a credit line at the product's rate, with its schedule."""
    line = CreditLine.objects.select_for_update().get(pk=credit_line.pk)
    _require_money(principal, "principal")
    if line.status == CreditLine.Status.FROZEN:
        raise DomainError("credit_line_frozen", frozen_message(line), field="credit_line")
    if line.status != CreditLine.Status.ACTIVE:
        raise DomainError("credit_line_closed", "The credit line is closed.", field="credit_line")
    if method not in product.methods:
        raise DomainError("method_not_offered", f"{product.code} offers {', '.join(product.methods)}.", field="method")
    if term not in product.terms:
        raise DomainError("term_not_offered", f"{product.code} offers terms {product.terms}.", field="term")
    if not product.min_amount <= principal <= product.max_amount:
        raise DomainError(
            "principal_out_of_range",
            f"{product.code} lends {product.min_amount} to {product.max_amount}.",
            field="principal",
        )
    if disbursed_on > business_today():
        raise DomainError("future_date", "A loan cannot be disbursed in the future.", field="disbursed_on")
    if disbursed_on < business_today() - timedelta(days=MAX_BACKDATE_DAYS):
        raise DomainError(
            "disbursement_too_old", f"A loan can be booked at most {MAX_BACKDATE_DAYS} days back.", field="disbursed_on"
        )
    refuse_closed_past(disbursed_on, "disbursed_on", "The disbursement date")
    available = credit_line_available(line)
    if principal > available:
        raise DomainError("over_limit", f"Only {available} of the credit line is available.", field="principal")
    lines = schedule.build_schedule(
        principal=principal, method=method, term=term, disbursed_on=disbursed_on, daily_rate=product.daily_rate
    )
    loan = Loan.objects.create(
        next_due_date=lines[0].due_date,
        credit_line=line,
        borrower_id=line.borrower_id,
        product=product,
        principal=principal,
        term=term,
        method=method,
        disbursed_on=disbursed_on,
        daily_rate=product.daily_rate,
        penalty_multiplier=product.penalty_multiplier,
        penalty_base=product.penalty_base,
        outstanding_principal=principal,
    )
    Installment.objects.bulk_create(
        Installment(loan=loan, **_installment_fields(s)) for s in installments_for(loan, lines)
    )
    audit_record(
        actor=actor,
        action="loan.originate",
        entity=loan,
        after={"principal": principal, "term": term, "method": method},
    )
    return loan


def _installment_fields(state: engine.InstallmentState) -> dict[str, Any]:
    return {
        "seq": state.seq,
        "period_start": state.period_start,
        "due_date": state.due_date,
        "grace_end": state.grace_end,
        "penalty_from": state.penalty_from,
        "arrears_tolerance": state.tolerance,
        "principal_due": state.principal_due,
        "interest_due": state.interest_due,
        "principal_paid": state.principal_paid,
        "interest_paid": state.interest_paid,
        "penalty_paid": state.penalty_paid,
        "penalty_accrued": state.penalty_accrued,
        "late_base_days": state.late_base_days,
        "pi_settled_on": state.pi_settled_on,
        "penalty_waived": state.penalty_waived,
        "superseded_on": state.superseded_on,
        "arrangement_id": state.arrangement_id,
    }


REPLAYED_FIELDS = [
    f
    for f in _installment_fields(
        engine.InstallmentState(0, date.min, date.min, date.min, date.min, Decimal(0), Decimal(0), Decimal(0))
    )
    if f != "seq"
]


def loan_replay(
    *,
    loan: Loan,
    history_from: date | None = None,
    strict_payment_id: int | None = None,
    through: date | None = None,
) -> engine.ReplayResult:
    """Recompute a loan from its terms and events and store the result.

    Used for every payment and reversal: allocations, installments, penalty, days past
    due and the bucket history from `history_from` come out as if each payment had
    arrived on its value date. Call inside a transaction holding the loan's row lock.
    """
    through = through or state_date_for(loan.pk) or loan.disbursed_on - timedelta(days=1)
    payments = posted_payments(loan)
    arrangements = arrangement_events(loan)
    first = history_from or loan.disbursed_on
    before = loan.bucket_history.filter(on__lt=first).order_by("-on").values_list("to_bucket", flat=True).first()
    try:
        result = engine.replay(
            terms=loan.terms,
            installments=original_schedule(loan),
            payments=posted_payment_events(payments),
            buckets=buckets(),
            through=through,
            history_from=first,
            bucket_before=before,
            strict_payment_id=strict_payment_id,
            arrangements=arrangements,
            grace_for=GraceBook(loan.product_id).engine_terms,
        )
    except engine.PaymentRefused as refused:
        raise DomainError(refused.code, refused.message, field=refused.field) from None
    # Close of day replays a loan with an event dated after the day it closes; an
    # arrangement counts as such an event, like money value-dated then.
    last_event = max([p.value_date for p in payments] + [a.effective_on for a in arrangements], default=None)
    _store_replay(loan, result, payments, first, through, last_event)
    return result


def _store_installments(loan: Loan, states: list[engine.InstallmentState]) -> None:
    """Update the installments that changed, add an arrangement's new ones, drop those replay no longer makes."""
    changed, added = [], []
    rows = {i.seq: i for i in loan.installments.all()}
    for state in states:
        fields = _installment_fields(state)
        row = rows.pop(state.seq, None)
        if row is None:
            added.append(Installment(loan=loan, **fields))
        elif any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            changed.append(row)
    Installment.objects.bulk_update(changed, REPLAYED_FIELDS)
    if rows:
        Installment.objects.filter(pk__in=[row.pk for row in rows.values()]).delete()
    Installment.objects.bulk_create(added)


def _store_replay(
    loan: Loan,
    result: engine.ReplayResult,
    payments: list[Payment],
    first: date,
    through: date,
    last_event: date | None,
) -> None:
    """Write what the replay changed: installments, allocations, unapplied money, history, the loan."""
    _store_installments(loan, result.installments)
    stored = {
        (a.payment_id, a.seq, a.penalty, a.interest, a.principal)
        for a in Allocation.objects.filter(loan=loan).only("payment_id", "seq", "penalty", "interest", "principal")
    }
    if stored != {(a.payment_id, a.seq, a.penalty, a.interest, a.principal) for a in result.allocations}:
        Allocation.objects.filter(loan=loan).delete()
        Allocation.objects.bulk_create(
            Allocation(
                payment_id=a.payment_id,
                loan=loan,
                seq=a.seq,
                penalty=a.penalty,
                interest=a.interest,
                principal=a.principal,
            )
            for a in result.allocations
        )
    for payment in payments:
        unapplied = result.unapplied.get(payment.id, Decimal("0.00"))
        if payment.unapplied != unapplied:
            Payment.objects.filter(pk=payment.pk).update(unapplied=unapplied)
    loan.bucket_history.filter(on__gte=first).delete()
    BucketHistory.objects.bulk_create(
        BucketHistory(loan=loan, on=c.on, from_bucket=c.from_bucket, to_bucket=c.to_bucket, dpd=c.dpd)
        for c in result.bucket_changes
    )
    day = result.day_state
    loan.outstanding_principal = result.outstanding_principal
    loan.overdue_amount = result.overdue_amount(through)
    loan.penalty_accrued = result.penalty_outstanding
    loan.dpd, loan.bucket, loan.in_grace, loan.grace_end = day.dpd, day.bucket, day.in_grace, day.grace_end
    loan.last_value_date = last_event
    loan.next_due_date = min((i.due_date for i in result.installments if i.pi_settled_on is None), default=None)
    if loan.status != Loan.Status.WRITTEN_OFF:
        loan.status = Loan.Status.PAID_OFF if result.paid_off_on else Loan.Status.ACTIVE
    loan.paid_off_on = result.paid_off_on
    loan.save()


# -- payments ----------------------------------------------------------------------


def payment_request_hash(
    *, loan_id: int, amount: Decimal, value_date: date, kind: str, channel: str, reference: str
) -> str:
    body = json.dumps([loan_id, str(amount), value_date.isoformat(), kind, channel, reference])
    return hashlib.sha256(body.encode()).hexdigest()


def payment_post(
    *,
    loan: Loan,
    amount: Decimal,
    value_date: date,
    kind: str,
    channel: str,
    idempotency_key: str,
    reference: str = "",
    actor: Actor = None,
) -> tuple[Payment, bool]:
    """Post a payment and replay the loan from its value date; return (payment, created).

    The same idempotency key with the same body returns the original payment; with
    another body it is a conflict (409).
    """
    request_hash = payment_request_hash(
        loan_id=loan.pk, amount=amount, value_date=value_date, kind=kind, channel=channel, reference=reference
    )
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _idempotent_replay(existing, request_hash), False
    try:
        with transaction.atomic():
            return _payment_post_locked(
                loan, amount, value_date, kind, channel, idempotency_key, reference, request_hash, actor
            ), True
    except IntegrityError:
        # A concurrent request with the same key committed first.
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _idempotent_replay(existing, request_hash), False


def _idempotent_replay(existing: Payment, request_hash: str) -> Payment:
    if existing.request_hash != request_hash:
        raise Conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different payment.",
            field="Idempotency-Key",
        )
    return existing


def _payment_post_locked(
    loan: Loan,
    amount: Decimal,
    value_date: date,
    kind: str,
    channel: str,
    idempotency_key: str,
    reference: str,
    request_hash: str,
    actor: Actor,
) -> Payment:
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    _require_money(amount, "amount")
    if kind not in engine.KINDS:
        raise DomainError("invalid_kind", f"kind must be one of {', '.join(engine.KINDS)}.", field="kind")
    if channel not in Payment.Channel.values:
        raise DomainError(
            "invalid_channel", f"channel must be one of {', '.join(Payment.Channel.values)}.", field="channel"
        )
    if value_date > business_today():
        raise DomainError(
            "future_value_date", "The value date is the day money arrived: today or earlier.", field="value_date"
        )
    if value_date < loan.disbursed_on:
        raise DomainError(
            "value_date_before_disbursement", f"The loan was disbursed on {loan.disbursed_on}.", field="value_date"
        )
    if loan.status != Loan.Status.ACTIVE:
        raise DomainError("loan_not_active", f"The loan is {loan.get_status_display()}.", field="loan")
    payment = Payment.objects.create(
        loan=loan,
        amount=amount,
        value_date=value_date,
        kind=kind,
        channel=channel,
        reference=reference,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        created_by=user_or_none(actor),
    )
    loan_replay(loan=loan, history_from=value_date, strict_payment_id=payment.pk)
    audit_record(
        actor=actor,
        action="payment.post",
        entity=payment,
        after={"amount": amount, "value_date": value_date, "kind": kind},
    )
    return payment


@transaction.atomic
def payment_reverse(*, payment: Payment, reason: str, actor: Actor = None) -> Payment:
    """Reverse a payment (a bounced autodebit) and replay the loan from its value date."""
    loan = Loan.objects.select_for_update().get(pk=payment.loan_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == Payment.Status.REVERSED:
        raise Conflict("already_reversed", f"Payment {payment.pk} was reversed at {payment.reversed_at}.")
    payment.status, payment.reversed_at, payment.reversal_reason = (
        Payment.Status.REVERSED,
        django_timezone.now(),
        reason,
    )
    payment.save(update_fields=["status", "reversed_at", "reversal_reason"])
    if loan.status == Loan.Status.PAID_OFF:
        loan.status = Loan.Status.ACTIVE
    loan_replay(loan=loan, history_from=payment.value_date)
    audit_record(actor=actor, action="payment.reverse", entity=payment, reason=reason)
    return payment


@transaction.atomic
def autodebit_failure_record(
    *, loan: Loan, attempted_on: date, amount: Decimal, cause: str, actor: Actor = None
) -> AutodebitFailure:
    _require_money(amount, "amount")
    if attempted_on > business_today():
        raise DomainError("future_date", "An autodebit attempt cannot be in the future.", field="attempted_on")
    if attempted_on < loan.disbursed_on:
        raise DomainError(
            "before_disbursement", f"The loan was disbursed on {loan.disbursed_on}.", field="attempted_on"
        )
    if cause not in AutodebitFailure.Cause.values:
        raise DomainError(
            "invalid_cause", f"cause must be one of {', '.join(AutodebitFailure.Cause.values)}.", field="cause"
        )
    failure = AutodebitFailure.objects.create(loan=loan, attempted_on=attempted_on, amount=amount, cause=cause)
    audit_record(actor=actor, action="autodebit.failure", entity=failure, after={"cause": cause, "amount": amount})
    return failure


# -- arrangements --------------------------------------------------------------------

MAX_ARRANGEMENT_MONTHS = 36


@transaction.atomic
def loan_arrangement_execute(
    *, loan: Loan, kind: str, effective_on: date, months: int | None = None, reason: str, actor: Actor = None
) -> LoanArrangement:
    """Carry out a hardship arrangement on `loan` from `effective_on` and replay the loan.

    The arrangement is an event of the loan like a payment (lending/engine.py gives the
    formulas): a later replay from any earlier date reproduces it.
    """
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    _check_arrangement(loan, kind, effective_on, months, reason)
    before = _schedule_totals(loan)
    arrangement = LoanArrangement.objects.create(
        loan=loan,
        kind=kind,
        effective_on=effective_on,
        months=months,
        reason=reason,
        created_by=user_or_none(actor),
    )
    loan_replay(loan=loan, history_from=effective_on)
    audit_record(
        actor=actor,
        action=f"loan.arrangement.{kind}",
        entity=arrangement,
        before=before,
        after={**_schedule_totals(loan), "loan": loan.pk, "effective_on": effective_on, "months": months},
        reason=reason,
    )
    return arrangement


def _check_arrangement(loan: Loan, kind: str, effective_on: date, months: int | None, reason: str) -> None:
    if kind not in engine.ARRANGEMENT_KINDS:
        raise DomainError("invalid_kind", f"kind must be one of {', '.join(engine.ARRANGEMENT_KINDS)}.", field="kind")
    if loan.status != Loan.Status.ACTIVE:
        raise DomainError("loan_not_active", f"The loan is {loan.get_status_display()}.", field="loan")
    if not reason.strip():
        raise DomainError("reason_required", "Say why the arrangement is made.", field="reason")
    if effective_on > business_today():
        raise DomainError("future_date", "An arrangement takes effect today or earlier.", field="effective_on")
    if effective_on < loan.disbursed_on:
        raise DomainError(
            "before_disbursement", f"The loan was disbursed on {loan.disbursed_on}.", field="effective_on"
        )
    refuse_closed_past(effective_on, "effective_on", "An arrangement's effective date")
    _check_arrangement_months(kind, months)
    if kind == engine.PENALTY_WAIVER and not loan_ledger(loan).penalty_forgivable(effective_on):
        raise DomainError("no_penalty", f"The loan has no unpaid penalty on {effective_on} to waive.", field="kind")


def _check_arrangement_months(kind: str, months: int | None) -> None:
    if kind == engine.PENALTY_WAIVER:
        if months is not None:
            raise DomainError("invalid_months", "A penalty waiver takes no months.", field="months")
        return
    if months is None or not 1 <= months <= MAX_ARRANGEMENT_MONTHS:
        raise DomainError(
            "invalid_months",
            f"An {kind} needs months from 1 to {MAX_ARRANGEMENT_MONTHS}.",
            field="months",
        )


def _schedule_totals(loan: Loan) -> dict[str, Any]:
    """What the schedule adds up to, for the audit row's before and after."""
    rows = list(loan.installments.all())
    return {
        "installments_open": sum(1 for i in rows if i.pi_settled_on is None),
        "principal_due": sum((i.principal_due - i.principal_paid for i in rows), Decimal("0.00")),
        "interest_due": sum((i.interest_due - i.interest_paid for i in rows), Decimal("0.00")),
        "penalty_due": sum((i.penalty_accrued - i.penalty_paid for i in rows), Decimal("0.00")),
        "penalty_waived": sum((i.penalty_waived for i in rows), Decimal("0.00")),
        "next_due_date": loan.next_due_date,
    }


# -- grace policies and incident windows -------------------------------------------


def grace_policy_check(rules: dict[str, Any]) -> None:
    """Refuse rules no policy version may hold (the preview checks a draft the same way)."""
    if not 0 <= rules.get("grace_days", 3) <= 30:
        raise DomainError("invalid_grace_days", "Grace days must be between 0 and 30.", field="grace_days")
    if rules.get("penalty_start", GracePolicy.PenaltyStart.DUE_DATE) not in GracePolicy.PenaltyStart.values:
        raise DomainError(
            "invalid_penalty_start", "Penalty counts from 'due_date' or 'grace_end'.", field="penalty_start"
        )
    if rules.get("arrears_tolerance", Decimal("0")) < 0:
        raise DomainError("invalid_tolerance", "The arrears tolerance cannot be negative.", field="arrears_tolerance")


def incident_window_check(*, start: date, end: date, extra_grace_days: int) -> None:
    """Refuse a window no incident may have (the preview checks a draft the same way)."""
    if end < start:
        raise DomainError("invalid_window", "The window ends before it starts.", field="end")
    if not 1 <= extra_grace_days <= 30:
        raise DomainError(
            "invalid_extra_grace_days", "Extra grace days must be between 1 and 30.", field="extra_grace_days"
        )


@transaction.atomic
def grace_policy_create(
    *, product: Product | None, effective_from: date, actor: Actor = None, **rules: Any
) -> GracePolicy:
    """Add a policy version; it governs installments due from `effective_from` on.

    The version must start after the last closed business day, so no closed day is
    silently rewritten; open installments due from then on take its terms now.
    """
    refuse_closed_past(effective_from, "effective_from", "A policy's effective date")
    if GracePolicy.objects.filter(product=product, effective_from=effective_from).exists():
        raise Conflict(
            "policy_version_exists", "A version with this effective date already exists.", field="effective_from"
        )
    grace_policy_check(rules)
    policy = GracePolicy.objects.create(
        product=product, effective_from=effective_from, created_by=user_or_none(actor), **rules
    )
    products = [product.pk] if product else list(Product.objects.values_list("pk", flat=True))
    installments_regrace(product_ids=products, due_from=effective_from, due_to=None)
    audit_record(
        actor=actor, action="grace_policy.create", entity=policy, after={"effective_from": effective_from, **rules}
    )
    return policy


@transaction.atomic
def incident_window_create(
    *, product: Product | None, start: date, end: date, extra_grace_days: int, reason: str, actor: Actor = None
) -> IncidentWindow:
    """Declare an outage window: installments due inside get extra grace, retroactively.

    Loans with such an installment are replayed, so a penalty the outage caused is removed.
    """
    incident_window_check(start=start, end=end, extra_grace_days=extra_grace_days)
    if not reason.strip():
        raise DomainError("reason_required", "Say why the window is declared.", field="reason")
    overlapping = IncidentWindow.objects.filter(start__lte=end, end__gte=start)
    if product is not None:
        overlapping = overlapping.filter(Q(product=product) | Q(product__isnull=True))
    if overlapping.exists():
        raise Conflict(
            "overlapping_window", "Another incident window already covers part of these dates.", field="start"
        )
    window = IncidentWindow.objects.create(
        product=product,
        start=start,
        end=end,
        extra_grace_days=extra_grace_days,
        reason=reason,
        created_by=user_or_none(actor),
    )
    products = [product.pk] if product else list(Product.objects.values_list("pk", flat=True))
    installments_regrace(product_ids=products, due_from=start, due_to=end)
    # Paid-off loans too: a penalty the outage caused comes back as unapplied money to refund.
    affected = Loan.objects.filter(
        product_id__in=products,
        installments__due_date__range=(start, end),
        status__in=[Loan.Status.ACTIVE, Loan.Status.PAID_OFF],
    ).distinct()
    for loan in affected:
        loan_replay(loan=loan, history_from=start)
    audit_record(actor=actor, action="incident_window.create", entity=window, reason=reason)
    return window


def installments_regrace(*, product_ids: list[int], due_from: date, due_to: date | None) -> int:
    """Set the grace terms of open installments due in [due_from, due_to] from the policies.

    Set-based: the distinct due dates are few, so their terms are computed once each
    and joined to the installments in one UPDATE per product.
    """
    updated = 0
    for product_id in product_ids:
        book = GraceBook(product_id)
        dues = Installment.objects.filter(
            loan__product_id=product_id, due_date__gte=due_from, pi_settled_on__isnull=True
        )
        if due_to is not None:
            dues = dues.filter(due_date__lte=due_to)
        due_dates = sorted(set(dues.values_list("due_date", flat=True)))
        if not due_dates:
            continue
        values, params = [], []
        for due in due_dates:
            terms = book.terms_for(due)
            values.append(f"({date_param()}, {date_param()}, {date_param()}, %s)")
            params += [due, terms.grace_end, terms.penalty_from, terms.tolerance]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH terms(due, grace_end, penalty_from, tolerance) AS (VALUES {", ".join(values)})
                UPDATE lending_installment SET grace_end = terms.grace_end, penalty_from = terms.penalty_from,
                       arrears_tolerance = terms.tolerance
                FROM terms
                WHERE lending_installment.due_date = terms.due AND lending_installment.pi_settled_on IS NULL
                  AND lending_installment.loan_id IN (SELECT id FROM lending_loan WHERE product_id = %s)
                """,
                [*params, product_id],
            )
            updated += cursor.rowcount
    return updated
