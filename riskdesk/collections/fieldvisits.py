"""Field visits: requested for a late case, approved by a supervisor, made by two staff or more.

Every visit is a contact like any other: the compliance gate checks it when it is
approved (at its planned time, as if approved) and again when it is recorded (at the
time it happened); a blocked visit is recorded as a blocked attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from riskdesk.collections import contact, gate
from riskdesk.collections.arrangements import DECIDE_ROLES, REQUEST_ROLES
from riskdesk.collections.models import Case, Channel, ContactAttempt, FieldVisit, Outcome, Stage
from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.errors import Conflict, DomainError, NotPermitted
from riskdesk.core.roles import require_role

VISIT_STAGES = (Stage.LATE, Stage.WRITE_OFF_REVIEW)


def field_visit_request(
    *,
    case: Case,
    planned_at: datetime,
    address: str,
    reason: str,
    staff: Sequence[AbstractBaseUser],
    actor: Actor,
) -> FieldVisit:
    """Ask to visit the borrower of a late case; a supervisor approves it."""
    require_role(actor, REQUEST_ROLES, "request a field visit")
    _check_request(case, planned_at, address, reason, staff)
    with transaction.atomic():
        visit = FieldVisit.objects.create(
            case=case, planned_at=planned_at, address=address, reason=reason, requested_by=actor
        )
        visit.staff.set(staff)
        audit_record(
            actor=actor,
            action="field_visit.request",
            entity=visit,
            after={"case": case.pk, "planned_at": planned_at, "staff": sorted(u.pk for u in staff)},
            reason=reason,
        )
    return visit


def _check_request(
    case: Case, planned_at: datetime, address: str, reason: str, staff: Sequence[AbstractBaseUser]
) -> None:
    if case.status != Case.Status.OPEN:
        raise DomainError("case_closed", f"Case #{case.pk} is closed.", field="case")
    if case.stage not in VISIT_STAGES:
        raise DomainError(
            "stage_not_late",
            f"Only a late or write-off-review case is visited; this one is {case.stage}.",
            field="case",
        )
    if timezone.is_naive(planned_at) or planned_at <= timezone.now():
        raise DomainError("planned_in_past", "A visit is planned for a time still to come.", field="planned_at")
    if not reason.strip():
        raise DomainError("reason_required", "Say why the visit is needed.", field="reason")
    if not address.strip():
        raise DomainError("address_required", "Give the borrower's registered address.", field="address")
    needed = gate.policy_rule_at(planned_at, "field_visit_min_staff")
    people = {u.pk for u in staff}
    if len(people) < needed:
        raise DomainError(
            "field_visit_staff", f"A field visit needs at least {needed} staff ({len(people)} named).", field="staff"
        )


def field_visit_approve(*, visit: FieldVisit, actor: Actor) -> FieldVisit:
    """Approve a requested visit if the gate would let it happen at its planned time."""
    with transaction.atomic():
        visit = _locked_requested(visit, actor)
        # The gate asks for an approved visit: check this one as if approved, unsaved.
        visit.status = FieldVisit.Status.APPROVED
        decision = _check(visit, visit.planned_at)
        if not decision.allowed:
            raise DomainError(
                "contact_blocked",
                decision.message,
                rule=decision.rule,
                next_allowed_at=decision.next_allowed_at.isoformat() if decision.next_allowed_at else None,
            )
        _decide(visit, actor)
        audit_record(actor=actor, action="field_visit.approve", entity=visit, after={"planned_at": visit.planned_at})
    return visit


def field_visit_reject(*, visit: FieldVisit, actor: Actor, note: str) -> FieldVisit:
    """Refuse a requested visit, saying why."""
    if not note.strip():
        raise DomainError("note_required", "Say why the visit is refused.", field="note")
    with transaction.atomic():
        visit = _locked_requested(visit, actor)
        visit.status = FieldVisit.Status.REJECTED
        visit.outcome = note
        _decide(visit, actor)
        audit_record(actor=actor, action="field_visit.reject", entity=visit, reason=note)
    return visit


def _locked_requested(visit: FieldVisit, actor: Actor) -> FieldVisit:
    require_role(actor, DECIDE_ROLES, "decide a field visit")
    visit = FieldVisit.objects.select_for_update().select_related("case__borrower").get(pk=visit.pk)
    if visit.status != FieldVisit.Status.REQUESTED:
        raise Conflict("already_decided", f"Field visit #{visit.pk} is {visit.get_status_display()}.")
    # Four eyes: whoever asked for a visit to someone's home does not approve it.
    if actor is not None and visit.requested_by_id == actor.pk:
        raise NotPermitted("own_request", "A field visit is approved by someone other than its requester.")
    return visit


def _decide(visit: FieldVisit, actor: Actor) -> None:
    visit.decided_by = user_or_none(actor)
    visit.decided_at = timezone.now()
    visit.save(update_fields=["status", "outcome", "decided_by", "decided_at"])


def _check(visit: FieldVisit, at: datetime) -> gate.Decision:
    return gate.contact_check(
        case=visit.case, borrower=visit.case.borrower, channel=Channel.VISIT, at=at, field_visit=visit
    )


def field_visit_record(*, visit: FieldVisit, at: datetime, outcome: str, actor: Actor) -> FieldVisit:
    """Record how an approved visit went, as a contact attempt the gate checks at `at`.

    A visit the gate blocks at `at` (quiet hours, a pause begun since approval) is
    recorded as a blocked attempt, committed, and ContactBlocked is raised.
    """
    require_role(actor, REQUEST_ROLES, "record a field visit")
    visit = FieldVisit.objects.select_related("case__borrower").get(pk=visit.pk)
    if visit.status != FieldVisit.Status.APPROVED:
        raise Conflict("visit_not_approved", f"Field visit #{visit.pk} is {visit.get_status_display()}.")
    if not outcome.strip():
        raise DomainError("outcome_required", "Say how the visit went.", field="outcome")
    decision = _check(visit, at)
    if not decision.allowed:
        raise contact.ContactBlocked(_record_attempt(visit, decision, at, outcome, actor))
    with transaction.atomic():
        visit = FieldVisit.objects.select_for_update().select_related("case__borrower").get(pk=visit.pk)
        if visit.status != FieldVisit.Status.APPROVED:
            raise Conflict("visit_not_approved", f"Field visit #{visit.pk} is {visit.get_status_display()}.")
        visit.attempt = _record_attempt(visit, decision, at, outcome, actor)
        visit.status = FieldVisit.Status.DONE
        visit.outcome = outcome
        visit.save(update_fields=["attempt", "status", "outcome"])
        audit_record(
            actor=actor, action="field_visit.record", entity=visit, after={"at": at, "attempt": visit.attempt.pk}
        )
    return visit


def _record_attempt(
    visit: FieldVisit, decision: gate.Decision, at: datetime, outcome: str, actor: Actor
) -> ContactAttempt:
    return contact.contact_attempt_record_decision(
        decision=decision,
        case=visit.case,
        borrower=visit.case.borrower,
        channel=Channel.VISIT,
        at=at,
        outcome=Outcome.VISITED,
        source=ContactAttempt.Source.FIELD_VISIT,
        actor=actor,
        note=outcome,
    )
