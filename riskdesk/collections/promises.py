"""Promises to pay: made by a collector, decided kept or broken at close of day, and what they do to a case's priority."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Case as Conditional
from django.db.models import DecimalField, Exists, F, OuterRef, QuerySet, Subquery, Value, When

from riskdesk.collections.models import Case, ContactAttempt, Promise
from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.dates import business_today
from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog
from riskdesk.core.money import ZERO, quantize_money
from riskdesk.lending.models import Installment, Loan, Payment

# A promise is for the near term: a date further out is a hardship arrangement instead.
MAX_PROMISE_DAYS = 30
MAX_TOLERANCE_DAYS = 7
# Priority boosts, in yuan of expected loss (see cases_prioritize).
DUE_PROMISE_BOOST = Decimal("1000.00")
BROKEN_PROMISE_BOOST = Decimal("500.00")
BROKEN_PROMISE_MEMORY_DAYS = 30


# -- priority ---------------------------------------------------------------------------


def cases_prioritize(cases: QuerySet[Case], day: date) -> int:
    """Set the priority and next promise date of the open `cases` as of `day`.

    priority = expected_loss (PD x overdue amount)
             + 1000.00 when a pending promise falls due on or before `day` (check whether it was kept)
             + 500.00 when a promise of the case broke in the last 30 days (escalated)
    So a due promise outranks a case with up to 1,000 yuan more expected loss.
    """
    pending = Promise.objects.filter(case=OuterRef("pk"), status=Promise.Status.PENDING)
    recently_broken = Promise.objects.filter(
        case=OuterRef("pk"),
        status=Promise.Status.BROKEN,
        decided_on__gt=day - timedelta(days=BROKEN_PROMISE_MEMORY_DAYS),
    )
    return cases.filter(status=Case.Status.OPEN).update(
        priority=F("expected_loss")
        + _boost_when(Exists(pending.filter(due_on__lte=day)), DUE_PROMISE_BOOST)
        + _boost_when(Exists(recently_broken), BROKEN_PROMISE_BOOST),
        next_promise_on=Subquery(pending.order_by("due_on").values("due_on")[:1]),
    )


def _boost_when(condition: Exists, boost: Decimal) -> Conditional:
    money = DecimalField(max_digits=16, decimal_places=2)
    return Conditional(When(condition, then=Value(boost, output_field=money)), default=Value(ZERO, output_field=money))


# -- making a promise -------------------------------------------------------------------


def promise_create(
    *,
    case: Case,
    amount: Decimal,
    due_on: date,
    actor: Actor,
    loan: Loan | None = None,
    attempt: ContactAttempt | None = None,
    tolerance_days: int = 1,
) -> Promise:
    """Record the borrower's promise to pay `amount` by `due_on` (plus `tolerance_days` for the money to land).

    The amount is at most what the borrower can owe by then on the loans promised for
    (the promise's loan, else every loan of the case): their overdue amount now plus the
    unpaid principal and interest of each one's next installment not yet due. A promise
    of more is a payoff, which takes no promise.
    """
    today = business_today()
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        _check_promise(case, amount, due_on, today, loan, attempt, tolerance_days)
        promise = Promise.objects.create(
            case=case,
            loan=loan,
            attempt=attempt,
            amount=amount,
            made_on=today,
            due_on=due_on,
            tolerance_days=tolerance_days,
            created_by=user_or_none(actor),
        )
        cases_prioritize(Case.objects.filter(pk=case.pk), today)
        audit_record(
            actor=actor,
            action="promise.create",
            entity=case,
            after={"promise": promise.pk, "amount": amount, "due_on": due_on, "loan": loan.pk if loan else None},
        )
    return promise


def _check_promise(
    case: Case,
    amount: Decimal,
    due_on: date,
    today: date,
    loan: Loan | None,
    attempt: ContactAttempt | None,
    tolerance_days: int,
) -> None:
    if case.status != Case.Status.OPEN:
        raise DomainError("case_closed", f"Case #{case.pk} is closed; it takes no promise.")
    if loan is not None and not case.loans.filter(pk=loan.pk).exists():
        raise DomainError("loan_not_in_case", f"Loan #{loan.pk} is not a loan of case #{case.pk}.", field="loan")
    if attempt is not None and attempt.case_id != case.pk:
        raise DomainError("attempt_not_in_case", "The attempt belongs to another case.", field="attempt")
    if not isinstance(amount, Decimal) or amount <= 0 or amount != quantize_money(amount):
        raise DomainError("invalid_amount", "The amount must be positive, in yuan and cents.", field="amount")
    ceiling = promise_ceiling(case, loan, today)
    if amount > ceiling:
        raise DomainError(
            "promise_amount_too_large",
            f"{amount} is more than the {ceiling} owed by then on these loans.",
            field="amount",
            ceiling=str(ceiling),
        )
    if not today <= due_on <= today + timedelta(days=MAX_PROMISE_DAYS):
        raise DomainError(
            "promise_due_out_of_range",
            f"A promise falls due between {today} and {today + timedelta(days=MAX_PROMISE_DAYS)}.",
            field="due_on",
        )
    if not 0 <= tolerance_days <= MAX_TOLERANCE_DAYS:
        raise DomainError("invalid_tolerance", f"Tolerance is 0 to {MAX_TOLERANCE_DAYS} days.", field="tolerance_days")


def promise_ceiling(case: Case, loan: Loan | None, today: date) -> Decimal:
    """The most a promise may be for: overdue amounts plus each loan's next installment not yet due."""
    loans = [loan] if loan is not None else list(case.loans.filter(status=Loan.Status.ACTIVE))
    overdue = sum((item.overdue_amount for item in loans), ZERO)
    upcoming = Installment.objects.filter(loan__in=loans, due_date__gte=today, pi_settled_on__isnull=True)
    next_dues: dict[int, Decimal] = {}
    for inst in upcoming.order_by("loan_id", "seq"):
        next_dues.setdefault(
            inst.loan_id, inst.principal_due + inst.interest_due - inst.principal_paid - inst.interest_paid
        )
    return overdue + sum(next_dues.values(), ZERO)


# -- deciding promises at close of day --------------------------------------------------


def promises_decide(day: date) -> dict[str, int]:
    """Decide every pending promise whose window (due date + tolerance) ended on or before `day`.

    Kept when the posted payments value-dated from `made_on` to `due_on` + tolerance on the
    promise's loan (else on any loan of the case) reach the amount; else broken, which
    raises the case's priority (cases_prioritize) and leaves an audit row on the case.
    Earlier windows are decided too, so a night that catches up misses none.
    """
    due = [
        promise
        for promise in Promise.objects.filter(status=Promise.Status.PENDING, due_on__lte=day)
        if promise.due_on + timedelta(days=promise.tolerance_days) <= day
    ]
    if not due:
        return {"promises_kept": 0, "promises_broken": 0}
    paid = _paid_in_windows(due)
    for promise in due:
        promise.paid_amount = paid[promise.pk]
        promise.status = Promise.Status.KEPT if paid[promise.pk] >= promise.amount else Promise.Status.BROKEN
        promise.decided_on = day
    with transaction.atomic():
        Promise.objects.bulk_update(due, ["paid_amount", "status", "decided_on"], batch_size=1000)
        AuditLog.objects.bulk_create(_decision_audit_rows(due), batch_size=1000)
        cases_prioritize(Case.objects.filter(pk__in={promise.case_id for promise in due}), day)
    broken = sum(1 for promise in due if promise.status == Promise.Status.BROKEN)
    return {"promises_kept": len(due) - broken, "promises_broken": broken}


def _paid_in_windows(promises: list[Promise]) -> dict[int, Decimal]:
    """Posted payments inside each promise's window, on the loans it covers."""
    through = Case.loans.through
    case_loans: dict[int, set[int]] = defaultdict(set)
    for case_id, loan_id in through.objects.filter(case_id__in={p.case_id for p in promises}).values_list(
        "case_id", "loan_id"
    ):
        case_loans[case_id].add(loan_id)
    scopes = {p.pk: {p.loan_id} if p.loan_id else case_loans[p.case_id] for p in promises}
    payments_by_loan: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for loan_id, value_date, amount in Payment.objects.filter(
        status=Payment.Status.POSTED,
        loan_id__in=set().union(*scopes.values()),
        value_date__gte=min(p.made_on for p in promises),
        value_date__lte=max(_window_end(p) for p in promises),
    ).values_list("loan_id", "value_date", "amount"):
        payments_by_loan[loan_id].append((value_date, amount))
    return {
        p.pk: sum(
            (
                amount
                for loan_id in scopes[p.pk]
                for value_date, amount in payments_by_loan[loan_id]
                if p.made_on <= value_date <= _window_end(p)
            ),
            ZERO,
        )
        for p in promises
    }


def _window_end(promise: Promise) -> date:
    return promise.due_on + timedelta(days=promise.tolerance_days)


def _decision_audit_rows(promises: list[Promise]) -> list[AuditLog]:
    entity_type = Case._meta.label_lower
    return [
        AuditLog(
            action=f"promise.{promise.status}",
            entity_type=entity_type,
            entity_id=str(promise.case_id),
            before={"promise": promise.pk, "status": Promise.Status.PENDING},
            after={
                "promise": promise.pk,
                "status": promise.status,
                "amount": str(promise.amount),
                "paid": str(promise.paid_amount),
            },
            reason=f"paid {promise.paid_amount} of {promise.amount} by {_window_end(promise)}",
        )
        for promise in promises
    ]
