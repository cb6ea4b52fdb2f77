"""The compliance gate: every contact with anyone asks `contact_check` first.

Interface fixed here so that every path (collector UI, API, reminder dispatcher,
field visits) calls the same function; the rules themselves live in
`compliance.py` (pure, no ORM) and this module gathers the facts they need.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from riskdesk.collections import compliance
from riskdesk.collections.models import (
    Arrangement,
    Case,
    Channel,
    ContactAttempt,
    ContactPolicy,
    ContactRestriction,
    Dispute,
    FieldVisit,
    MessageTemplate,
    Purpose,
    QuietHoursConsent,
)
from riskdesk.lending.models import Borrower, ContactPoint, EmergencyContact

# The policy row's values the pure rules read: every field of PolicyRules, by name.
POLICY_FIELDS = tuple(f.name for f in dataclasses.fields(compliance.PolicyRules))


@dataclass(frozen=True)
class Decision:
    """The gate's answer: allowed, or blocked by `rule` with a message and the next allowed time."""

    allowed: bool
    rule: str = ""
    message: str = ""
    next_allowed_at: datetime | None = None
    # Every rule evaluated, name -> "ok" or the reason it failed; stored on the attempt.
    results: dict[str, str] = field(default_factory=dict)
    policy: ContactPolicy | None = None


# Latest first; of two versions effective at the same instant the higher governs.
POLICY_ORDER = ("-effective_from", "-version")


def contact_policy_in_force(at: datetime) -> ContactPolicy | None:
    """The policy version governing `at`: the latest effective at or before it."""
    return ContactPolicy.objects.filter(effective_from__lte=at).order_by(*POLICY_ORDER).first()


def policy_rule_at(at: datetime, rule: str) -> Any:
    """One rule of the contact policy in force at `at`; the field's default when none is."""
    policy = contact_policy_in_force(at)
    return getattr(policy, rule) if policy else ContactPolicy._meta.get_field(rule).default


def contact_check(
    *,
    case: Case | None,
    borrower: Borrower,
    channel: Channel | str,
    at: datetime,
    contact_point: ContactPoint | None = None,
    emergency_contact: EmergencyContact | None = None,
    purpose: Purpose | str = Purpose.COLLECT,
    template_id: int | None = None,
    field_visit: FieldVisit | None = None,
) -> Decision:
    """Check one contact against the policy in force at `at`; fail closed on anything unknown."""
    if timezone.is_naive(at):
        raise ValueError("contact_check needs an aware datetime")
    policy = contact_policy_in_force(at)
    if policy is None:
        return _blocked("no_policy", "No contact policy is in force: no contact is allowed.")
    # An emergency contact has no time zone of its own on file: we use the borrower's, the
    # only zone we know for the household, rather than the server's.
    try:
        zone = zoneinfo.ZoneInfo(borrower.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return _blocked("unknown_timezone", f"Unknown time zone {borrower.timezone!r}: no contact is allowed.", policy)
    facts = _facts(
        policy=policy,
        zone=zone,
        case=case,
        borrower=borrower,
        channel=str(channel),
        at=at,
        contact_point=contact_point,
        emergency_contact=emergency_contact,
        purpose=str(purpose),
        template_id=template_id,
        field_visit=field_visit,
    )
    verdict = compliance.evaluate(facts)
    return Decision(
        allowed=verdict.allowed,
        rule=verdict.rule,
        message=verdict.message,
        next_allowed_at=verdict.next_allowed_at.astimezone(UTC) if verdict.next_allowed_at else None,
        results=verdict.results or {},
        policy=policy,
    )


def _blocked(rule: str, message: str, policy: ContactPolicy | None = None) -> Decision:
    return Decision(allowed=False, rule=rule, message=message, results={rule: message}, policy=policy)


def policy_rules(policy: ContactPolicy) -> compliance.PolicyRules:
    return compliance.PolicyRules(**{name: getattr(policy, name) for name in POLICY_FIELDS})


def _facts(
    *,
    policy: ContactPolicy,
    zone: zoneinfo.ZoneInfo,
    case: Case | None,
    borrower: Borrower,
    channel: str,
    at: datetime,
    contact_point: ContactPoint | None,
    emergency_contact: EmergencyContact | None,
    purpose: str,
    template_id: int | None,
    field_visit: FieldVisit | None,
) -> compliance.Facts:
    rules = policy_rules(policy)
    third_party = emergency_contact is not None
    return compliance.Facts(
        at=at,
        zone=zone,
        policy=rules,
        channel=channel,
        purpose=purpose,
        third_party=third_party,
        party_problem=party_problem(
            case=case,
            borrower=borrower,
            channel=channel,
            contact_point=contact_point,
            emergency_contact=emergency_contact,
        ),
        number=f"emergency:{emergency_contact.pk}" if third_party else f"point:{getattr(contact_point, 'pk', None)}",
        point_id=contact_point.pk if contact_point else None,
        point_status=contact_point.status if contact_point else "",
        emergency_consent=bool(emergency_contact and emergency_contact.consent),
        emergency_objected_at=emergency_contact.objected_at if emergency_contact else None,
        emergency_contacts_made=_emergency_contacts_made(emergency_contact, at),
        borrower_phones_all_dead=_phones_all_dead(borrower) if third_party else False,
        recent_borrower_outcomes=_recent_borrower_outcomes(borrower, at, rules.unreachable_after_failures)
        if third_party
        else (),
        calls=_recent_calls(borrower, at, rules) if channel == "call" else (),
        restrictions=_restrictions(borrower, at),
        consents=_consents(borrower, at),
        open_dispute=Dispute.objects.filter(borrower=borrower, resolved_at__isnull=True, opened_at__lte=at).exists(),
        arrangement_active=Arrangement.objects.filter(
            case__borrower=borrower, status=Arrangement.Status.ACTIVE
        ).exists(),
        template=_template_facts(template_id),
        case=_case_facts(case),
        visit=_visit_facts(field_visit),
    )


def party_problem(
    *,
    case: Case | None,
    borrower: Borrower,
    channel: str,
    contact_point: ContactPoint | None,
    emergency_contact: EmergencyContact | None,
) -> str:
    """Why the party this contact reaches is not one we may reach; "" when it is."""
    if case is not None and case.borrower_id != borrower.pk:
        return "the case belongs to another borrower"
    if contact_point is not None and emergency_contact is not None:
        return "one attempt reaches one party"
    if emergency_contact is not None:
        if emergency_contact.borrower_id != borrower.pk:
            return "not one of this borrower's emergency contacts"
        return "" if channel in ("call", "sms") else f"an emergency contact cannot be reached by {channel}"
    needed = compliance.CHANNEL_POINT_KIND.get(channel)
    if needed is None:
        return "" if contact_point is None else f"a {channel} goes to the registered address, not a contact point"
    if contact_point is None:
        return f"a {channel} needs one of the borrower's registered contact points"
    if contact_point.borrower_id != borrower.pk:
        return "not one of this borrower's registered contact points"
    if contact_point.kind != needed:
        return f"a {channel} needs a {needed} contact point, not {contact_point.kind}"
    return ""


def _emergency_contacts_made(emergency_contact: EmergencyContact | None, at: datetime) -> int:
    if emergency_contact is None:
        return 0
    return ContactAttempt.objects.filter(emergency_contact=emergency_contact, allowed=True, at__lte=at).count()


def _phones_all_dead(borrower: Borrower) -> bool:
    phones = list(ContactPoint.objects.filter(borrower=borrower, kind=ContactPoint.Kind.PHONE).values_list("status"))
    return bool(phones) and all(status in compliance.DEAD_STATUSES for (status,) in phones)


def _recent_borrower_outcomes(borrower: Borrower, at: datetime, count: int) -> tuple[str, ...]:
    rows = ContactAttempt.objects.filter(
        borrower=borrower, allowed=True, emergency_contact__isnull=True, at__lte=at
    ).order_by("-at", "-id")[:count]
    return tuple(row.outcome for row in rows)


def _recent_calls(borrower: Borrower, at: datetime, rules: compliance.PolicyRules) -> tuple[compliance.PastCall, ...]:
    """Allowed calls to the borrower and their emergency contacts, as far back as any cap looks."""
    days = max(rules.conversation_cooldown_days or 0, 7) + 1
    rows = ContactAttempt.objects.filter(
        borrower=borrower, channel=Channel.CALL, allowed=True, at__gt=at - timedelta(days=days), at__lte=at
    ).values_list("at", "contact_point_id", "emergency_contact_id", "outcome")
    return tuple(
        compliance.PastCall(
            at=moment,
            number=f"emergency:{emergency_id}" if emergency_id else f"point:{point_id}",
            outcome=outcome,
            to_borrower=emergency_id is None,
        )
        for moment, point_id, emergency_id, outcome in rows
    )


def _restrictions(borrower: Borrower, at: datetime) -> tuple[compliance.Restriction, ...]:
    rows = ContactRestriction.objects.filter(borrower=borrower).filter(
        Q(lifted_at__isnull=True) | Q(lifted_at__gt=at), Q(ends_at__isnull=True) | Q(ends_at__gt=at)
    )
    return tuple(
        compliance.Restriction(
            kind=r.kind,
            channel=r.channel,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            lifted_at=r.lifted_at,
            daily_from=r.daily_from,
            daily_to=r.daily_to,
        )
        for r in rows
    )


def _consents(borrower: Borrower, at: datetime) -> tuple[compliance.Consent, ...]:
    rows = QuietHoursConsent.objects.filter(borrower=borrower, ends_at__gt=at)
    return tuple(
        compliance.Consent(starts_at=c.starts_at, ends_at=c.ends_at, point_id=c.contact_point_id) for c in rows
    )


def _template_facts(template_id: int | None) -> compliance.TemplateFacts | None:
    if template_id is None:
        return None
    template = MessageTemplate.objects.filter(pk=template_id).first()
    if template is None:
        return compliance.TemplateFacts(status="missing", audience="")
    return compliance.TemplateFacts(status=template.status, audience=template.audience)


def _case_facts(case: Case | None) -> compliance.CaseFacts | None:
    if case is None:
        return None
    return compliance.CaseFacts(
        overdue_amount=case.overdue_amount, max_dpd=case.max_dpd, legal_escalated=case.legal_escalated_on is not None
    )


def _visit_facts(visit: FieldVisit | None) -> compliance.VisitFacts | None:
    if visit is None:
        return None
    return compliance.VisitFacts(status=visit.status, staff_count=visit.staff.count())
