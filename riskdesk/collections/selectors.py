"""Reads for the collections desk: a collector's queue, the case page, the supervisor's team view."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.models import AbstractBaseUser, User
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from riskdesk.collections import gate
from riskdesk.collections.models import (
    Arrangement,
    Case,
    Channel,
    CollectorProfile,
    ContactAttempt,
    ContactRestriction,
    Dispute,
    FieldVisit,
    MessageTemplate,
    Promise,
    Purpose,
    Queue,
    Stage,
)
from riskdesk.core import masking, roles
from riskdesk.core.dates import business_today
from riskdesk.core.models import AuditLog
from riskdesk.lending import selectors as lending_selectors
from riskdesk.lending.models import Borrower, ContactPoint, EmergencyContact, Installment, Loan, Payment

# The default cap when a collector has no profile yet (CollectorProfile.max_open_cases' default).
DEFAULT_CAP = CollectorProfile._meta.get_field("max_open_cases").default
TIMELINE_LIMIT = 200
# The channel a collector uses first on each kind of contact point.
CHANNELS_BY_KIND = {
    ContactPoint.Kind.PHONE: (Channel.CALL, Channel.SMS),
    ContactPoint.Kind.EMAIL: (Channel.EMAIL,),
    ContactPoint.Kind.APP: (Channel.PUSH,),
}

# Phones first: a collector's work is calls; then email, then the app.
KIND_ORDER = [ContactPoint.Kind.PHONE, ContactPoint.Kind.EMAIL, ContactPoint.Kind.APP]


# -- the collector's queue ---------------------------------------------------------------


def with_last_attempt(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Open cases, highest priority first, each with its last attempt's time, outcome and blocking rule."""
    last_attempt = ContactAttempt.objects.filter(case=OuterRef("pk")).order_by("-at", "-id")
    return (
        cases.filter(status=Case.Status.OPEN)
        .select_related("borrower", "queue")
        .annotate(
            last_attempt_at=Subquery(last_attempt.values("at")[:1]),
            last_attempt_outcome=Subquery(last_attempt.values("outcome")[:1]),
            last_attempt_rule=Subquery(last_attempt.values("rule")[:1]),
        )
        .order_by("-priority", "id")
    )


def queue_for(collector: AbstractBaseUser) -> QuerySet[Case]:
    """The collector's open assigned cases by priority."""
    return with_last_attempt(Case.objects.filter(assigned_to=collector))


# -- the case page ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoanSummary:
    """A loan of the case with its schedule in a line: installments paid, overdue, still to come."""

    loan: Loan
    explanation: lending_selectors.DelinquencyExplanation
    statuses: dict[str, int]
    next_due: Installment | None

    @property
    def installments(self) -> int:
        return sum(self.statuses.values())


@dataclass(frozen=True)
class PartyState:
    """A contact point or emergency contact and the gate's answer for contacting it right now."""

    party: ContactPoint | EmergencyContact
    channel: str
    decision: gate.Decision

    @property
    def reveal_field(self) -> str:
        """The reveal view's name for this party's number or address."""
        return f"point:{self.party.pk}" if isinstance(self.party, ContactPoint) else f"contact:{self.party.pk}"

    @property
    def channels(self) -> str:
        """The channels this party can be reached on, comma-separated for the page's script."""
        if isinstance(self.party, EmergencyContact):
            return Channel.CALL
        return ",".join(CHANNELS_BY_KIND.get(self.party.kind, ()))

    @property
    def masked_name(self) -> str:
        return masking.mask_name(self.party.name) if isinstance(self.party, EmergencyContact) else ""

    @property
    def masked_value(self) -> str:
        if isinstance(self.party, EmergencyContact):
            return masking.mask_phone(self.party.phone)
        return masked_contact_point(self.party)


def masked_contact_point(point: ContactPoint) -> str:
    if point.kind == ContactPoint.Kind.EMAIL:
        return masking.mask_email(point.value)
    if point.kind == ContactPoint.Kind.APP:
        return point.value  # the app's own id for the borrower ("app:<id>"), no personal data
    return masking.mask_phone(point.value)


@dataclass(frozen=True)
class MaskedBorrower:
    """The borrower as the case page first shows them to every role; unmasking is a reveal, audited."""

    name: str
    national_id: str
    email: str
    address: str
    bank_card: str
    timezone: str
    local_now: datetime | None

    @classmethod
    def of(cls, borrower: Borrower, at: datetime) -> MaskedBorrower:
        return cls(
            name=masking.mask_name(borrower.name),
            national_id=masking.mask_national_id(borrower.national_id),
            email=masking.mask("email", borrower.email),
            address=masking.mask("address", borrower.address),
            bank_card=masking.mask("card", borrower.bank_card),
            timezone=borrower.timezone,
            local_now=local_time(at, borrower.timezone),
        )


def local_time(at: datetime, zone: str) -> datetime | None:
    """`at` on the borrower's clock; None for a time zone we cannot read (the gate then blocks)."""
    try:
        return at.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class TimelineEntry:
    """One event of the borrower's story; `kind` picks how the page draws it."""

    at: datetime
    kind: str
    item: Any


@dataclass(frozen=True)
class CasePage:
    case: Case
    borrower: MaskedBorrower
    as_of: date
    loans: list[LoanSummary]
    contact_points: list[PartyState]
    emergency_contacts: list[PartyState]
    restrictions: list[ContactRestriction]
    disputes: list[Dispute]
    arrangements_in_force: list[Arrangement]
    pending_promises: list[Promise]
    timeline: list[TimelineEntry]


def case_loans(case: Case) -> list[Loan]:
    return list(case.loans.select_related("product").order_by("id"))


def loan_summary(loan: Loan, as_of: date) -> LoanSummary:
    installments = list(loan.installments.order_by("seq"))
    statuses = Counter(lending_selectors.installment_status(inst, on=as_of) for inst in installments)
    upcoming = [inst for inst in installments if inst.due_date >= as_of and not inst.pi_settled_on]
    return LoanSummary(
        loan=loan,
        explanation=lending_selectors.explain_delinquency(loan),
        statuses=dict(statuses),
        next_due=upcoming[0] if upcoming else None,
    )


def contact_point_states(case: Case, at: datetime) -> list[PartyState]:
    """Each registered contact point, asked of the gate on its first channel.

    A message channel is asked with the borrower's first approved template for it, as
    the attempt form would send: the question is whether the point may be used now.
    """
    states = []
    points = sorted(case.borrower.contact_points.all(), key=lambda point: (KIND_ORDER.index(point.kind), point.pk))
    templates: dict[str, int] = {}
    for template in message_templates_for(case.borrower).order_by("-code"):
        templates[template.channel] = template.pk  # the first by code wins
    for point in points:
        channel = CHANNELS_BY_KIND.get(point.kind, (Channel.CALL,))[0]
        decision = gate.contact_check(
            case=case,
            borrower=case.borrower,
            channel=channel,
            at=at,
            contact_point=point,
            purpose=Purpose.COLLECT,
            template_id=templates.get(channel),
        )
        states.append(PartyState(party=point, channel=channel, decision=decision))
    return states


def emergency_contact_states(case: Case, at: datetime) -> list[PartyState]:
    """Each emergency contact, asked of the gate for a locating call."""
    return [
        PartyState(
            party=contact,
            channel=Channel.CALL,
            decision=gate.contact_check(
                case=case,
                borrower=case.borrower,
                channel=Channel.CALL,
                at=at,
                emergency_contact=contact,
                purpose=Purpose.LOCATE,
            ),
        )
        for contact in case.borrower.emergency_contacts.order_by("id")
    ]


def restrictions_in_force(borrower_id: int, at: datetime) -> list[ContactRestriction]:
    return list(
        ContactRestriction.objects.filter(borrower_id=borrower_id, lifted_at__isnull=True, starts_at__lte=at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .order_by("kind", "starts_at")
    )


def case_timeline(case: Case, loans: list[Loan]) -> list[TimelineEntry]:
    """Attempts (allowed and blocked), promises, payments, arrangements, visits and case actions, newest first."""
    attempts = ContactAttempt.objects.filter(Q(case=case) | Q(case__isnull=True, borrower_id=case.borrower_id))
    attempts = attempts.select_related("contact_point", "emergency_contact", "actor", "policy")
    entries = [TimelineEntry(a.at, "attempt", a) for a in attempts.order_by("-at", "-id")[:TIMELINE_LIMIT]]
    entries += [TimelineEntry(p.created_at, "promise", p) for p in case.promises.select_related("created_by")]
    payments = Payment.objects.filter(loan__in=loans).order_by("-value_date", "-id")[:TIMELINE_LIMIT]
    # A payment belongs to the story on its value date, the day the borrower paid, not when it was keyed in.
    entries += [TimelineEntry(start_of(p.value_date), "payment", p) for p in payments]
    for arrangement in case.arrangements.select_related("loan", "requested_by", "decided_by"):
        entries.append(TimelineEntry(arrangement.requested_at, "arrangement", arrangement))
    entries += [TimelineEntry(v.planned_at, "field_visit", v) for v in case.field_visits.all()]
    actions = AuditLog.objects.filter(entity_type=Case._meta.label_lower, entity_id=str(case.pk))
    entries += [TimelineEntry(row.at, "action", row) for row in actions.select_related("actor")[:TIMELINE_LIMIT]]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def case_page(case: Case, *, at: datetime | None = None) -> CasePage:
    """Everything the case page shows; the gate is asked about each party as of `at` (now)."""
    at = at or timezone.now()
    as_of = lending_selectors.state_date() or business_today()
    loans = case_loans(case)
    points = contact_point_states(case, at)
    return CasePage(
        case=case,
        borrower=MaskedBorrower.of(case.borrower, at),
        as_of=as_of,
        loans=[loan_summary(loan, as_of) for loan in loans],
        contact_points=points,
        emergency_contacts=emergency_contact_states(case, at),
        restrictions=restrictions_in_force(case.borrower_id, at),
        disputes=list(case.borrower.disputes.filter(resolved_at__isnull=True).order_by("opened_at")),
        arrangements_in_force=list(case.arrangements.filter(status=Arrangement.Status.ACTIVE).select_related("loan")),
        pending_promises=list(case.promises.filter(status=Promise.Status.PENDING).order_by("due_on")),
        timeline=case_timeline(case, loans),
    )


def attempt_for_case(case: Case, attempt_id: int) -> ContactAttempt:
    """One attempt of the case's borrower, for drawing it into the timeline after a fetch()."""
    return ContactAttempt.objects.select_related("contact_point", "emergency_contact", "actor", "policy").get(
        pk=attempt_id, borrower_id=case.borrower_id
    )


# -- the supervisor's team view ----------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    collector: User
    open_cases: int
    cap: int

    @property
    def at_cap(self) -> bool:
        return self.open_cases >= self.cap


def queue_counts() -> list[Queue]:
    """Each queue with its open and unassigned case counts, early stages first."""
    open_cases = Q(cases__status=Case.Status.OPEN)
    queues = Queue.objects.annotate(
        open_count=Count("cases", filter=open_cases),
        unassigned_count=Count("cases", filter=open_cases & Q(cases__assigned_to__isnull=True)),
    )
    return sorted(queues, key=lambda queue: (Stage.values.index(queue.stage), queue.code))


def collectors() -> QuerySet[User]:
    return User.objects.filter(groups__name=roles.COLLECTOR, is_active=True).order_by("username")


def workloads() -> list[Workload]:
    """Each collector's open cases against their cap."""
    people = (
        collectors()
        .select_related("collector_profile")
        .annotate(open_cases=Count("cases", filter=Q(cases__status=Case.Status.OPEN)))
    )
    return [Workload(collector=person, open_cases=person.open_cases, cap=collector_cap(person)) for person in people]


def workload_of(collector: User) -> Workload:
    open_cases = Case.objects.filter(assigned_to=collector, status=Case.Status.OPEN).count()
    return Workload(collector=collector, open_cases=open_cases, cap=collector_cap(collector))


def collector_cap(person: User) -> int:
    profile = getattr(person, "collector_profile", None)
    return profile.max_open_cases if profile else DEFAULT_CAP


def team_cases(*, queue: str = "", assignee: str = "", limit: int = 200) -> QuerySet[Case]:
    """Open cases for bulk reassignment, filtered by queue code and assignee ('none': unassigned)."""
    cases = Case.objects.filter(status=Case.Status.OPEN).select_related("borrower", "queue", "assigned_to")
    if queue:
        cases = cases.filter(queue__code=queue)
    if assignee == "none":
        cases = cases.filter(assigned_to__isnull=True)
    elif assignee.isdigit():
        cases = cases.filter(assigned_to_id=int(assignee))
    return cases.order_by("-priority", "id")[:limit]


@dataclass(frozen=True)
class Approvals:
    arrangements: list[Arrangement]
    field_visits: list[FieldVisit]
    write_off_reviews: list[Case]

    @property
    def total(self) -> int:
        return len(self.arrangements) + len(self.field_visits) + len(self.write_off_reviews)


def approvals_pending() -> Approvals:
    return Approvals(
        arrangements=list(
            Arrangement.objects.filter(status=Arrangement.Status.REQUESTED)
            .select_related("case", "loan", "requested_by")
            .order_by("requested_at")
        ),
        field_visits=list(
            FieldVisit.objects.filter(status=FieldVisit.Status.REQUESTED)
            .select_related("case", "requested_by")
            .prefetch_related("staff")
            .order_by("planned_at")
        ),
        write_off_reviews=list(
            Case.objects.filter(status=Case.Status.OPEN, write_off_review=Case.WriteOffReview.PENDING)
            .select_related("borrower", "assigned_to")
            .order_by("-overdue_amount")
        ),
    )


def message_templates_for(borrower: Borrower) -> QuerySet[MessageTemplate]:
    """The approved borrower templates in the borrower's language: the only texts a message may carry."""
    return MessageTemplate.objects.filter(
        status=MessageTemplate.Status.APPROVED,
        audience=MessageTemplate.Audience.BORROWER,
        language=borrower.language,
    ).order_by("channel", "code")
