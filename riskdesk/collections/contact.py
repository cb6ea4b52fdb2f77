"""Contact services: log attempts through the gate, version the contact policy, and record
the borrower's limits (restrictions, quiet-hour consent, disputes, dead numbers, objections).

Every write is atomic with its audit row. A blocked attempt is recorded and committed
before `ContactBlocked` is raised, so the refusal survives the error the caller sees.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from riskdesk.collections.gate import Decision, contact_check, contact_policy_in_force
from riskdesk.collections.models import (
    Case,
    Channel,
    ContactAttempt,
    ContactPolicy,
    ContactRestriction,
    Dispute,
    MessageTemplate,
    Outcome,
    Purpose,
    QuietHoursConsent,
)
from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.money import quantize_money
from riskdesk.lending.models import Borrower, ContactPoint, EmergencyContact

__all__ = [
    "PRESETS",
    "ContactBlocked",
    "contact_attempt_log",
    "contact_attempt_record_decision",
    "contact_point_mark",
    "contact_policy_create",
    "contact_policy_in_force",
    "contact_restriction_add",
    "contact_restriction_lift",
    "dispute_open",
    "dispute_resolve",
    "emergency_contact_object",
    "quiet_hours_consent_record",
]


_COMMON: dict[str, Any] = {
    "max_unanswered_dials_per_number_per_day": None,
    "max_conversations_per_day": None,
    "max_calls_per_7_days": None,
    "conversation_cooldown_days": None,
    "unreachable_after_failures": 3,
    "third_party_contacts_max": None,
    "pause_on_attorney": False,
    "written_dispute_window_days": None,
    "breathing_space_days": None,
    "pause_on_vulnerability": False,
    "field_visits_allowed": True,
    "field_visit_min_overdue": Decimal("5000.00"),
    "field_visit_min_dpd": 91,
    "field_visit_min_staff": 2,
    "bureau_notice_days": 7,
    "agency_review_months": 12,
}
# DESIGN.md's table, one column per jurisdiction; an admin starts a version from one.
PRESETS: dict[str, dict[str, Any]] = {
    "cn": {
        **_COMMON,
        "quiet_start": time(22, 0),
        "quiet_end": time(8, 0),
        "max_unanswered_dials_per_number_per_day": 6,
        "max_conversations_per_day": 3,
    },
    "us": {
        **_COMMON,
        "quiet_start": time(21, 0),
        "quiet_end": time(8, 0),
        "max_calls_per_7_days": 7,
        "conversation_cooldown_days": 7,
        "third_party_contacts_max": 1,
        "pause_on_attorney": True,
        "written_dispute_window_days": 30,
        "field_visits_allowed": False,
    },
    "uk": {
        **_COMMON,
        "quiet_start": time(21, 0),
        "quiet_end": time(8, 0),
        "breathing_space_days": 60,
        "pause_on_vulnerability": True,
    },
}
EDITABLE_FIELDS = frozenset(ContactPolicy.RULES) | {"note"}

# Outcomes each channel can come to; "blocked" is the gate's, never a caller's.
CALL_OUTCOMES = frozenset(
    {
        Outcome.NO_ANSWER,
        Outcome.BUSY,
        Outcome.VOICEMAIL,
        Outcome.RIGHT_PARTY,
        Outcome.THIRD_PARTY,
        Outcome.WRONG_NUMBER,
        Outcome.DISCONNECTED,
        Outcome.PROMISE_TO_PAY,
        Outcome.REFUSAL,
        Outcome.DISPUTE,
        Outcome.CEASE_REQUEST,
        Outcome.HARDSHIP_REQUEST,
    }
)
MESSAGE_OUTCOMES = frozenset({Outcome.SENT, Outcome.DELIVERED, Outcome.FAILED})
VISIT_OUTCOMES = frozenset(
    {
        Outcome.VISITED,
        Outcome.NO_ANSWER,
        Outcome.RIGHT_PARTY,
        Outcome.THIRD_PARTY,
        Outcome.PROMISE_TO_PAY,
        Outcome.REFUSAL,
        Outcome.DISPUTE,
        Outcome.CEASE_REQUEST,
        Outcome.HARDSHIP_REQUEST,
    }
)
OUTCOMES_BY_CHANNEL = {
    Channel.CALL: CALL_OUTCOMES,
    Channel.SMS: MESSAGE_OUTCOMES | {Outcome.WRONG_NUMBER},
    Channel.EMAIL: MESSAGE_OUTCOMES,
    Channel.PUSH: MESSAGE_OUTCOMES,
    Channel.LETTER: MESSAGE_OUTCOMES,
    Channel.VISIT: VISIT_OUTCOMES,
}
# Outcomes that prove the contact point reaches the borrower.
REACHED = frozenset(
    {
        Outcome.RIGHT_PARTY,
        Outcome.PROMISE_TO_PAY,
        Outcome.REFUSAL,
        Outcome.DISPUTE,
        Outcome.CEASE_REQUEST,
        Outcome.HARDSHIP_REQUEST,
        Outcome.DELIVERED,
    }
)
DEAD = frozenset({Outcome.WRONG_NUMBER, Outcome.DISCONNECTED})


class ContactBlocked(DomainError):
    """The gate refused a contact; the blocked attempt is already recorded."""

    def __init__(self, attempt: ContactAttempt) -> None:
        next_at = attempt.next_allowed_at.isoformat() if attempt.next_allowed_at else None
        super().__init__(
            "contact_blocked",
            attempt.message,
            rule=attempt.rule,
            next_allowed_at=next_at,
            attempt_id=attempt.pk,
        )
        self.attempt = attempt


# -- attempts --------------------------------------------------------------------------


def contact_attempt_log(
    *,
    case: Case,
    channel: Channel | str,
    at: datetime,
    outcome: Outcome | str,
    actor: Actor,
    source: ContactAttempt.Source | str,
    contact_point: ContactPoint | None = None,
    emergency_contact: EmergencyContact | None = None,
    purpose: Purpose | str = Purpose.COLLECT,
    note: str = "",
    template: MessageTemplate | None = None,
) -> ContactAttempt:
    """Ask the gate, then record the attempt and what its outcome means; raise ContactBlocked if refused.

    The check and the record happen under a lock on the borrower, so two contacts at once
    (two staff, or staff and the reminder dispatcher) cannot both slip under a cap; and
    attempts are logged in the order they happen, so every count the gate takes "up to
    `at`" is the whole count: a backdated attempt cannot hide behind later ones.
    """
    _require_party(case=case, contact_point=contact_point, emergency_contact=emergency_contact)
    _require_outcome(channel=str(channel), outcome=str(outcome))
    if case.status != Case.Status.OPEN and purpose == Purpose.COLLECT:
        raise DomainError("case_closed", f"Case #{case.pk} is closed: there is nothing to collect.", field="purpose")
    with transaction.atomic():
        borrower_lock(case.borrower_id)
        _require_in_order(case.borrower_id, at)
        decision = contact_check(
            case=case,
            borrower=case.borrower,
            channel=channel,
            at=at,
            contact_point=contact_point,
            emergency_contact=emergency_contact,
            purpose=purpose,
            template_id=template.pk if template else None,
        )
        attempt = contact_attempt_record_decision(
            decision=decision,
            case=case,
            borrower=case.borrower,
            channel=channel,
            at=at,
            outcome=outcome,
            source=source,
            actor=actor,
            contact_point=contact_point,
            emergency_contact=emergency_contact,
            purpose=purpose,
            note=note,
            template=template,
        )
    if not attempt.allowed:
        raise ContactBlocked(attempt)
    return attempt


def borrower_lock(*borrower_ids: int) -> None:
    """Serialise contacts with these borrowers until the transaction ends (ids in order: no deadlock)."""
    list(Borrower.objects.select_for_update().filter(pk__in=borrower_ids).order_by("pk").values_list("pk"))


def _require_in_order(borrower_id: int, at: datetime) -> None:
    latest = ContactAttempt.objects.filter(borrower_id=borrower_id, allowed=True).aggregate(at=Max("at"))["at"]
    if latest is not None and at < latest:
        raise DomainError(
            "attempt_out_of_order",
            f"An attempt at {latest.isoformat()} is already logged for this borrower; log attempts as they happen.",
            field="at",
        )


def _require_party(
    *, case: Case, contact_point: ContactPoint | None, emergency_contact: EmergencyContact | None
) -> None:
    if contact_point is not None and contact_point.borrower_id != case.borrower_id:
        raise DomainError(
            "not_permitted_party", "Not one of this borrower's registered contact points.", field="contact_point"
        )
    if emergency_contact is not None and emergency_contact.borrower_id != case.borrower_id:
        raise DomainError(
            "not_permitted_party", "Not one of this borrower's emergency contacts.", field="emergency_contact"
        )


def _require_outcome(*, channel: str, outcome: str) -> None:
    allowed = OUTCOMES_BY_CHANNEL.get(channel)
    if allowed is None:
        raise DomainError("invalid_channel", f"Unknown channel {channel!r}.", field="channel")
    if outcome not in allowed:
        raise DomainError("invalid_outcome", f"A {channel} cannot end as {outcome!r}.", field="outcome")


def contact_attempt_record_decision(
    *,
    decision: Decision,
    case: Case | None,
    borrower: Borrower,
    channel: Channel | str,
    at: datetime,
    outcome: Outcome | str,
    source: ContactAttempt.Source | str,
    actor: Actor = None,
    contact_point: ContactPoint | None = None,
    emergency_contact: EmergencyContact | None = None,
    purpose: Purpose | str = Purpose.COLLECT,
    note: str = "",
    template: MessageTemplate | None = None,
) -> ContactAttempt:
    """Record an attempt the gate already decided: blocked ones as "blocked", allowed ones with their effects."""
    with transaction.atomic():
        attempt = ContactAttempt.objects.create(
            case=case,
            borrower=borrower,
            channel=channel,
            contact_point=contact_point,
            emergency_contact=emergency_contact,
            purpose=purpose,
            source=source,
            at=at,
            allowed=decision.allowed,
            rule=decision.rule,
            message=decision.message[:300],
            next_allowed_at=decision.next_allowed_at,
            rule_results=decision.results,
            policy=decision.policy,
            outcome=outcome if decision.allowed else Outcome.BLOCKED,
            note=note,
            template=template,
            actor=user_or_none(actor),
        )
        if decision.allowed:
            _apply_outcome(attempt, actor)
        _audit_attempt(attempt, actor)
    return attempt


def _audit_attempt(attempt: ContactAttempt, actor: Actor) -> None:
    version = attempt.policy.version if attempt.policy else None
    if attempt.allowed:
        after = {"channel": attempt.channel, "outcome": attempt.outcome, "policy_version": version}
        audit_record(actor=actor, action="contact.attempt", entity=attempt, after=after)
        return
    after = {
        "rule": attempt.rule,
        "policy_version": version,
        "channel": attempt.channel,
        "next_allowed_at": attempt.next_allowed_at,
    }
    audit_record(actor=actor, action="contact.blocked", entity=attempt, after=after, reason=attempt.message)


def _apply_outcome(attempt: ContactAttempt, actor: Actor) -> None:
    """What an outcome means beyond the attempt itself (DESIGN.md "Outcomes and follow-up")."""
    point = attempt.contact_point
    if point is not None and attempt.outcome in REACHED:
        point.last_success_at = attempt.at
        point.save(update_fields=["last_success_at"])
    if point is not None and attempt.outcome in DEAD:
        contact_point_mark(contact_point=point, status=attempt.outcome, actor=actor)
    if attempt.outcome == Outcome.DISPUTE:
        dispute_open(
            borrower=attempt.borrower, case=attempt.case, written=False, note=attempt.note, actor=actor, at=attempt.at
        )
    if attempt.outcome == Outcome.CEASE_REQUEST:
        contact_restriction_add(
            borrower=attempt.borrower,
            kind=ContactRestriction.Kind.CEASE,
            actor=actor,
            starts_at=attempt.at,
            reason=f"asked during contact attempt #{attempt.pk}",
        )


# -- the contact policy ------------------------------------------------------------------


def contact_policy_create(*, preset: str, effective_from: datetime, actor: Actor, **overrides: Any) -> ContactPolicy:
    """Start a new policy version from a preset, with an admin's overrides, from a future instant."""
    if preset not in PRESETS:
        raise DomainError("invalid_preset", f"Unknown preset {preset!r}.", field="preset")
    unknown = sorted(set(overrides) - EDITABLE_FIELDS)
    if unknown:
        raise DomainError("invalid_field", f"Not a contact policy field: {unknown[0]}.", field=unknown[0])
    _require_future(effective_from)
    values = {**PRESETS[preset], **overrides}
    _validate_policy(values)
    with transaction.atomic():
        version = (ContactPolicy.objects.aggregate(top=Max("version"))["top"] or 0) + 1
        try:
            with transaction.atomic():
                policy = ContactPolicy.objects.create(
                    version=version,
                    preset=preset,
                    effective_from=effective_from,
                    created_by=user_or_none(actor),
                    **values,
                )
        except IntegrityError:
            raise Conflict(
                "policy_version_taken", "Another policy version was saved at the same time; retry."
            ) from None
        after = {"preset": preset, "effective_from": effective_from, **values}
        audit_record(actor=actor, action="contact_policy.create", entity=policy, after=after)
    return policy


# A form submitted "from now" reaches us a moment later; a minute's grace keeps it valid.
PAST_GRACE = timedelta(minutes=1)


def _require_future(effective_from: datetime) -> None:
    if timezone.is_naive(effective_from):
        raise DomainError("invalid_datetime", "effective_from needs a time zone.", field="effective_from")
    if effective_from < timezone.now() - PAST_GRACE:
        raise DomainError(
            "policy_in_past",
            "A policy version cannot start in the past: attempts already checked must keep their version.",
            field="effective_from",
        )


def _validate_policy(values: dict[str, Any]) -> None:
    if not isinstance(values["quiet_start"], time) or not isinstance(values["quiet_end"], time):
        raise DomainError("invalid_quiet_hours", "Quiet hours need a start and an end time.", field="quiet_start")
    if values["quiet_start"] == values["quiet_end"]:
        raise DomainError(
            "invalid_quiet_hours", "Quiet hours cannot start and end at the same time.", field="quiet_end"
        )
    if values["field_visit_min_staff"] < 2:
        raise DomainError("invalid_field", "A field visit needs at least 2 staff.", field="field_visit_min_staff")
    if values["unreachable_after_failures"] < 1:
        raise DomainError("invalid_field", "At least one failed attempt.", field="unreachable_after_failures")
    for name, value in values.items():
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise DomainError("invalid_field", f"{name} cannot be negative.", field=name)
    overdue = Decimal(values["field_visit_min_overdue"])
    if overdue < 0 or overdue != quantize_money(overdue):
        raise DomainError("invalid_amount", "A non-negative amount in cents.", field="field_visit_min_overdue")
    values["field_visit_min_overdue"] = overdue


# -- the borrower's limits ---------------------------------------------------------------


def contact_restriction_add(
    *,
    borrower: Borrower,
    kind: ContactRestriction.Kind | str,
    actor: Actor,
    channel: str = "",
    daily_from: time | None = None,
    daily_to: time | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    reason: str = "",
) -> ContactRestriction:
    """Record a limit on contacting the borrower; it holds from `starts_at` (default now)."""
    if kind not in ContactRestriction.Kind.values:
        raise DomainError("invalid_restriction", f"Unknown restriction {kind!r}.", field="kind")
    if kind == ContactRestriction.Kind.OPT_OUT and channel not in Channel.values:
        raise DomainError("channel_required", "An opt-out names the channel.", field="channel")
    if kind == ContactRestriction.Kind.BLACKOUT and (daily_from is None or daily_to is None or daily_from == daily_to):
        raise DomainError("invalid_window", "A blackout needs a daily window.", field="daily_from")
    starts_at = starts_at or timezone.now()
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError("invalid_window", "The restriction must end after it starts.", field="ends_at")
    with transaction.atomic():
        restriction = ContactRestriction.objects.create(
            borrower=borrower,
            kind=kind,
            channel=channel,
            daily_from=daily_from,
            daily_to=daily_to,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            created_by=user_or_none(actor),
        )
        after = {"kind": kind, "channel": channel, "daily_from": daily_from, "daily_to": daily_to}
        audit_record(actor=actor, action="contact_restriction.add", entity=restriction, after=after, reason=reason)
    return restriction


def contact_restriction_lift(*, restriction: ContactRestriction, actor: Actor) -> ContactRestriction:
    """Lift a restriction from now on; its history stays."""
    if restriction.lifted_at is not None:
        raise Conflict("restriction_lifted", "This restriction is already lifted.")
    with transaction.atomic():
        restriction.lifted_at = timezone.now()
        restriction.save(update_fields=["lifted_at"])
        audit_record(
            actor=actor,
            action="contact_restriction.lift",
            entity=restriction,
            after={"lifted_at": restriction.lifted_at},
        )
    return restriction


def quiet_hours_consent_record(
    *,
    borrower: Borrower,
    starts_at: datetime,
    ends_at: datetime,
    evidence: str,
    actor: Actor,
    contact_point: ContactPoint | None = None,
) -> QuietHoursConsent:
    """Record the borrower's consent to quiet-hour contact; without evidence there is no consent."""
    if not evidence.strip():
        raise DomainError("evidence_required", "Say how the borrower consented.", field="evidence")
    if ends_at <= starts_at:
        raise DomainError("invalid_window", "The consent must end after it starts.", field="ends_at")
    if contact_point is not None and contact_point.borrower_id != borrower.pk:
        raise DomainError("not_permitted_party", "Not one of this borrower's contact points.", field="contact_point")
    with transaction.atomic():
        consent = QuietHoursConsent.objects.create(
            borrower=borrower,
            contact_point=contact_point,
            starts_at=starts_at,
            ends_at=ends_at,
            evidence=evidence,
            recorded_by=user_or_none(actor),
        )
        after = {"starts_at": starts_at, "ends_at": ends_at, "evidence": evidence}
        audit_record(actor=actor, action="quiet_hours_consent.record", entity=consent, after=after)
    return consent


def dispute_open(
    *, borrower: Borrower, case: Case | None, written: bool, note: str, actor: Actor, at: datetime
) -> Dispute:
    """Open a dispute: the gate pauses contact with the borrower until it is resolved."""
    with transaction.atomic():
        dispute = Dispute.objects.create(
            borrower=borrower, case=case, written=written, note=note, opened_at=at, created_by=user_or_none(actor)
        )
        audit_record(actor=actor, action="dispute.open", entity=dispute, after={"written": written}, reason=note)
    return dispute


def dispute_resolve(*, dispute: Dispute, resolution: str, actor: Actor) -> Dispute:
    if dispute.resolved_at is not None:
        raise Conflict("dispute_resolved", "This dispute is already resolved.")
    if not resolution.strip():
        raise DomainError("resolution_required", "Say how the dispute was resolved.", field="resolution")
    with transaction.atomic():
        dispute.resolved_at = timezone.now()
        dispute.resolution = resolution
        dispute.save(update_fields=["resolved_at", "resolution"])
        audit_record(actor=actor, action="dispute.resolve", entity=dispute, after={"resolution": resolution})
    return dispute


def contact_point_mark(*, contact_point: ContactPoint, status: ContactPoint.Status | str, actor: Actor) -> ContactPoint:
    """Mark a point active, wrong number or disconnected; the gate stops dead ones."""
    if status not in ContactPoint.Status.values:
        raise DomainError("invalid_status", f"Unknown contact point status {status!r}.", field="status")
    with transaction.atomic():
        before = {"status": contact_point.status}
        contact_point.status = status
        contact_point.save(update_fields=["status"])
        audit_record(
            actor=actor, action="contact_point.mark", entity=contact_point, before=before, after={"status": status}
        )
    return contact_point


def emergency_contact_object(*, emergency_contact: EmergencyContact, actor: Actor, at: datetime) -> EmergencyContact:
    """Record that an emergency contact objects to contact: they are never contacted again."""
    if emergency_contact.objected_at is not None:
        return emergency_contact
    with transaction.atomic():
        emergency_contact.objected_at = at
        emergency_contact.save(update_fields=["objected_at"])
        audit_record(
            actor=actor, action="emergency_contact.object", entity=emergency_contact, after={"objected_at": at}
        )
    return emergency_contact
