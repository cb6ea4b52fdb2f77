"""Hardship arrangements: a collector requests, a supervisor approves, lending carries it out.

An approved extension or re-installment gives the loan a new schedule on the same loan
(`lending.services.loan_arrangement_execute`); while it is in force the gate pauses
collection contact. Close of day reviews every arrangement in force:

* broken: an installment of its new schedule is past its grace end with more than the
  arrears tolerance unpaid; the pause lifts, and the loan, overdue again, is collected
  on a case that close of day opens (the case closed while the arrangement held
  stays closed, with reason "arrangement");
* completed: the loan is paid off, or every installment of the new schedule is paid.

A penalty waiver has no new schedule: it is complete once carried out, and pauses no contact.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from riskdesk.collections.models import Arrangement, Case
from riskdesk.core import roles
from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.dates import business_today
from riskdesk.core.errors import Conflict, DomainError, NotPermitted
from riskdesk.lending.models import Installment, Loan
from riskdesk.lending.services import MAX_ARRANGEMENT_MONTHS, loan_arrangement_execute

REQUEST_ROLES = roles.COLLECTIONS_STAFF
DECIDE_ROLES = roles.COLLECTIONS_DECIDERS
SCHEDULE_KINDS = (Arrangement.Kind.EXTENSION, Arrangement.Kind.REINSTALLMENT)


def arrangement_request(
    *, case: Case, loan: Loan, kind: str, months: int | None = None, reason: str, actor: Actor
) -> Arrangement:
    """Ask for a hardship arrangement on one of the case's loans; a supervisor decides it."""
    roles.require_role(actor, REQUEST_ROLES, "request an arrangement")
    _check_request(case, loan, kind, months, reason)
    taken = Conflict(
        "arrangement_exists", f"Loan #{loan.pk} already has an arrangement requested or in force.", field="loan"
    )
    if Arrangement.objects.filter(loan=loan, status__in=_LIVE).exists():
        raise taken
    try:
        with transaction.atomic():
            arrangement = Arrangement.objects.create(
                case=case, loan=loan, kind=kind, months=months, reason=reason, requested_by=actor
            )
            audit_record(
                actor=actor,
                action="arrangement.request",
                entity=arrangement,
                after={"case": case.pk, "loan": loan.pk, "kind": kind, "months": months},
                reason=reason,
            )
    except IntegrityError:
        raise taken from None  # a concurrent request on the same loan committed first
    return arrangement


_LIVE = (Arrangement.Status.REQUESTED, Arrangement.Status.ACTIVE)


def _check_request(case: Case, loan: Loan, kind: str, months: int | None, reason: str) -> None:
    if case.status != Case.Status.OPEN:
        raise DomainError("case_closed", f"Case #{case.pk} is closed.", field="case")
    if not case.loans.filter(pk=loan.pk).exists():
        raise DomainError("loan_not_in_case", f"Loan #{loan.pk} is not one of this case's loans.", field="loan")
    if loan.status != Loan.Status.ACTIVE:
        raise DomainError("loan_not_active", f"The loan is {loan.get_status_display()}.", field="loan")
    if kind not in Arrangement.Kind.values:
        raise DomainError("invalid_kind", f"kind must be one of {', '.join(Arrangement.Kind.values)}.", field="kind")
    if not reason.strip():
        raise DomainError("reason_required", "Say why the borrower needs the arrangement.", field="reason")
    if kind == Arrangement.Kind.PENALTY_WAIVER and months is not None:
        raise DomainError("invalid_months", "A penalty waiver takes no months.", field="months")
    if kind in SCHEDULE_KINDS and (months is None or not 1 <= months <= MAX_ARRANGEMENT_MONTHS):
        raise DomainError(
            "invalid_months", f"An {kind} needs months from 1 to {MAX_ARRANGEMENT_MONTHS}.", field="months"
        )


def _locked_requested(arrangement: Arrangement, actor: Actor) -> Arrangement:
    roles.require_role(actor, DECIDE_ROLES, "decide an arrangement")
    arrangement = Arrangement.objects.select_for_update().get(pk=arrangement.pk)
    if arrangement.status != Arrangement.Status.REQUESTED:
        raise Conflict("already_decided", f"Arrangement #{arrangement.pk} is {arrangement.get_status_display()}.")
    # Four eyes: the person who asked for the concession does not grant it.
    if actor is not None and arrangement.requested_by_id == actor.pk:
        raise NotPermitted("own_request", "An arrangement is decided by someone other than its requester.")
    return arrangement


def arrangement_approve(*, arrangement: Arrangement, actor: Actor, note: str = "") -> Arrangement:
    """Approve a requested arrangement and carry it out on the loan from today."""
    with transaction.atomic():
        arrangement = _locked_requested(arrangement, actor)
        executed = loan_arrangement_execute(
            loan=arrangement.loan,
            kind=arrangement.kind,
            effective_on=business_today(),
            months=arrangement.months,
            reason=f"arrangement #{arrangement.pk}: {arrangement.reason}"[:200],
            actor=actor,
        )
        in_force = arrangement.kind in SCHEDULE_KINDS
        arrangement.status = Arrangement.Status.ACTIVE if in_force else Arrangement.Status.COMPLETED
        arrangement.lending_arrangement = executed
        _decide(arrangement, actor, note)
        audit_record(
            actor=actor,
            action="arrangement.approve",
            entity=arrangement,
            after={"status": arrangement.status, "lending_arrangement": executed.pk, "effective_on": business_today()},
            reason=note,
        )
    return arrangement


def arrangement_reject(*, arrangement: Arrangement, actor: Actor, note: str) -> Arrangement:
    """Refuse a requested arrangement, saying why."""
    if not note.strip():
        raise DomainError("note_required", "Say why the arrangement is refused.", field="note")
    with transaction.atomic():
        arrangement = _locked_requested(arrangement, actor)
        arrangement.status = Arrangement.Status.REJECTED
        _decide(arrangement, actor, note)
        audit_record(actor=actor, action="arrangement.reject", entity=arrangement, reason=note)
    return arrangement


def _decide(arrangement: Arrangement, actor: Actor, note: str) -> None:
    arrangement.decided_by = user_or_none(actor)
    arrangement.decided_at = timezone.now()
    arrangement.decision_note = note
    arrangement.save(update_fields=["status", "lending_arrangement", "decided_by", "decided_at", "decision_note"])


# -- close of day ---------------------------------------------------------------------------


def arrangements_review(day: date) -> dict[str, int]:
    """Mark arrangements in force broken or completed as of the closed business day `day`."""
    in_force = Arrangement.objects.filter(status=Arrangement.Status.ACTIVE, lending_arrangement__isnull=False)
    broken = list(in_force.filter(lending_arrangement__installments__in=_missed_installments(day)).distinct())
    for arrangement in broken:
        _close(arrangement, Arrangement.Status.BROKEN, day, "arrangement.broken")
    completed = list(
        in_force.exclude(pk__in=[a.pk for a in broken]).filter(
            Q(loan__status=Loan.Status.PAID_OFF) | ~Q(lending_arrangement__installments__pi_settled_on__isnull=True)
        )
    )
    for arrangement in completed:
        _close(arrangement, Arrangement.Status.COMPLETED, day, "arrangement.completed")
    return {"arrangements_broken": len(broken), "arrangements_completed": len(completed)}


def _missed_installments(day: date) -> QuerySet[Installment]:
    """Installments past their grace end on `day` with more than the arrears tolerance unpaid."""
    unpaid = F("principal_due") + F("interest_due") - F("principal_paid") - F("interest_paid")
    return (
        Installment.objects.filter(arrangement__isnull=False, grace_end__lt=day, superseded_on__isnull=True)
        .alias(unpaid=unpaid)
        .filter(unpaid__gt=F("arrears_tolerance"))
    )


def _close(arrangement: Arrangement, status: str, day: date, action: str) -> None:
    with transaction.atomic():
        Arrangement.objects.filter(pk=arrangement.pk, status=Arrangement.Status.ACTIVE).update(
            status=status, broken_on=day if status == Arrangement.Status.BROKEN else None
        )
        audit_record(
            actor=None,
            action=action,
            entity=arrangement,
            after={"status": status, "on": day, "loan": arrangement.loan_id},
        )
