"""The contact rules of DESIGN.md's table as pure functions of plain facts (no ORM here).

`evaluate(facts)` runs every rule, never short-circuiting, so the attempt can store why
each rule passed or failed; the first failure in `RULE_ORDER` decides. Rules are ordered
from "never by this route" (wrong party, dead number, cease) through pauses and templates
to the rules that only depend on the clock (quiet hours, blackouts, caps), so the reason a
collector sees is the one that matters most.

Time rules name the instant they stop failing; `next_allowed_at` re-evaluates every rule
at that instant (a cap ends at local midnight, which is inside quiet hours, ...) until no
rule fails, or gives up with None when a rule that no clock can lift still fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

# Outcomes of a call, as the caps count them (DESIGN.md "calls").
UNANSWERED = frozenset({"no_answer", "busy", "voicemail"})
CONVERSATIONS = frozenset(
    {"right_party", "promise_to_pay", "refusal", "dispute", "cease_request", "hardship_request", "third_party"}
)
# Outcomes that leave the borrower unreached; enough of them in a row open the emergency contacts.
FAILED = frozenset({"no_answer", "busy", "voicemail", "wrong_number", "disconnected", "failed"})
DEAD_STATUSES = frozenset({"wrong_number", "disconnected"})
# The contact-point kind each channel needs; letters and visits go to the registered address.
CHANNEL_POINT_KIND = {"call": "phone", "sms": "phone", "email": "email", "push": "app"}
MESSAGE_CHANNELS = frozenset({"sms", "email", "push"})
WEEK = timedelta(days=7)
# A re-evaluation hop per time rule is plenty: quiet hours, blackout, a cap and a cooldown.
MAX_HOPS = 8


@dataclass(frozen=True)
class PolicyRules:
    """The contact policy's values, copied off the versioned row."""

    version: int
    preset: str
    quiet_start: time
    quiet_end: time
    max_unanswered_dials_per_number_per_day: int | None = None
    max_conversations_per_day: int | None = None
    max_calls_per_7_days: int | None = None
    conversation_cooldown_days: int | None = None
    unreachable_after_failures: int = 3
    third_party_contacts_max: int | None = None
    pause_on_attorney: bool = False
    breathing_space_days: int | None = None
    pause_on_vulnerability: bool = False
    field_visits_allowed: bool = True
    field_visit_min_overdue: Decimal = Decimal("5000.00")
    field_visit_min_dpd: int = 91
    field_visit_min_staff: int = 2


@dataclass(frozen=True)
class PastCall:
    """An allowed call made earlier; `number` is "point:<id>" or "emergency:<id>"."""

    at: datetime
    number: str
    outcome: str
    to_borrower: bool


@dataclass(frozen=True)
class Restriction:
    kind: str
    starts_at: datetime
    channel: str = ""
    ends_at: datetime | None = None
    lifted_at: datetime | None = None
    daily_from: time | None = None
    daily_to: time | None = None

    def active_at(self, at: datetime) -> bool:
        ended = (self.ends_at is not None and at >= self.ends_at) or (
            self.lifted_at is not None and at >= self.lifted_at
        )
        return self.starts_at <= at and not ended

    def lifts_at(self) -> datetime | None:
        """When the restriction stops by itself; None: only when lifted."""
        return self.ends_at


@dataclass(frozen=True)
class Consent:
    """A recorded consent to quiet-hour contact; `point_id` None covers every point."""

    starts_at: datetime
    ends_at: datetime
    point_id: int | None = None


@dataclass(frozen=True)
class VisitFacts:
    status: str
    staff_count: int


@dataclass(frozen=True)
class CaseFacts:
    overdue_amount: Decimal
    max_dpd: int
    legal_escalated: bool


@dataclass(frozen=True)
class TemplateFacts:
    status: str  # "missing" when the id names no template
    audience: str


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at for one contact, at one instant."""

    at: datetime
    zone: ZoneInfo
    policy: PolicyRules
    channel: str
    purpose: str
    # Who is contacted: the borrower (through `point_*`) or an emergency contact.
    third_party: bool
    party_problem: str = ""  # why the contacted party is not a permitted one; "" when it is
    number: str = ""  # the dialled number's key, "point:<id>" or "emergency:<id>", as in PastCall
    point_id: int | None = None
    point_status: str = ""
    emergency_consent: bool = True
    emergency_objected_at: datetime | None = None
    emergency_contacts_made: int = 0
    borrower_phones_all_dead: bool = False
    recent_borrower_outcomes: tuple[str, ...] = ()  # newest first, allowed attempts to the borrower
    calls: tuple[PastCall, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    consents: tuple[Consent, ...] = ()
    open_dispute: bool = False
    arrangement_active: bool = False
    template: TemplateFacts | None = None
    case: CaseFacts | None = None
    visit: VisitFacts | None = None

    @property
    def local(self) -> datetime:
        return self.at.astimezone(self.zone)


@dataclass(frozen=True)
class Failure:
    """A failed rule: the message a collector reads, and when it stops failing (None: not by time)."""

    message: str
    until: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rule: str = ""
    message: str = ""
    next_allowed_at: datetime | None = None
    results: dict[str, str] | None = None


Rule = Callable[[Facts], Failure | None]


# -- clock helpers ---------------------------------------------------------------------


def in_daily_window(moment: time, start: time, end: time) -> bool:
    """Is `moment` in [start, end)? A window with start > end wraps midnight."""
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def next_local(after: datetime, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant at or after `after` that reads `clock` on the local wall clock."""
    local = after.astimezone(zone)
    candidate = datetime.combine(local.date(), clock, tzinfo=zone)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), clock, tzinfo=zone)
    return candidate


def next_local_midnight(after: datetime, zone: ZoneInfo) -> datetime:
    local = after.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _hm(clock: time) -> str:
    return clock.strftime("%H:%M")


# -- who is contacted ------------------------------------------------------------------


def not_permitted_party(f: Facts) -> Failure | None:
    if f.party_problem:
        return Failure(f"Not a permitted party: {f.party_problem}. Only registered contact points may be contacted.")
    return None


def contact_point_dead(f: Facts) -> Failure | None:
    if f.point_status in DEAD_STATUSES:
        return Failure(f"This contact point is marked {f.point_status.replace('_', ' ')}; use another channel.")
    return None


def emergency_contact_objected(f: Facts) -> Failure | None:
    if f.third_party and f.emergency_objected_at is not None and f.emergency_objected_at <= f.at:
        return Failure("This emergency contact objected to being contacted; never contact them again.")
    return None


def emergency_contact_consent(f: Facts) -> Failure | None:
    if f.third_party and not f.emergency_consent:
        return Failure("No recorded consent for this emergency contact.")
    return None


def third_party_debt(f: Facts) -> Failure | None:
    # A third party may only be asked where the borrower is: never told of the debt.
    if f.third_party and f.purpose != "locate":
        return Failure("An emergency contact may only be asked to help locate the borrower, never about the debt.")
    return None


def borrower_reachable(f: Facts) -> Failure | None:
    if not f.third_party or f.borrower_phones_all_dead:
        return None
    needed = f.policy.unreachable_after_failures
    recent = f.recent_borrower_outcomes[:needed]
    if len(recent) == needed and all(outcome in FAILED for outcome in recent):
        return None
    return Failure(
        f"The borrower is still reachable: emergency contacts only after {needed} failed attempts in a row "
        "or when all of the borrower's phones are dead."
    )


def third_party_once(f: Facts) -> Failure | None:
    limit = f.policy.third_party_contacts_max
    if f.third_party and limit is not None and f.emergency_contacts_made >= limit:
        return Failure(f"This emergency contact has already been contacted {f.emergency_contacts_made} time(s).")
    return None


def third_party_template(f: Facts) -> Failure | None:
    if not f.third_party or f.channel not in MESSAGE_CHANNELS:
        return None
    if f.template is None or f.template.status != "approved" or f.template.audience != "third_party":
        return Failure("A message to an emergency contact needs an approved third-party template.")
    return None


# -- the borrower's own limits and pauses ------------------------------------------------


def _restriction_failure(f: Facts, kind: str, message: str, channel: str = "") -> Failure | None:
    for restriction in f.restrictions:
        if restriction.kind == kind and restriction.active_at(f.at) and restriction.channel in ("", channel):
            return Failure(message, restriction.lifts_at())
    return None


def cease(f: Facts) -> Failure | None:
    return _restriction_failure(f, "cease", "The borrower asked us to cease communication.")


def opt_out(f: Facts) -> Failure | None:
    for restriction in f.restrictions:
        if restriction.kind == "opt_out" and restriction.channel == f.channel and restriction.active_at(f.at):
            return Failure(f"The borrower opted out of {f.channel}; use another channel.", restriction.lifts_at())
    return None


def attorney(f: Facts) -> Failure | None:
    if not f.policy.pause_on_attorney:
        return None
    return _restriction_failure(f, "attorney", "The borrower is represented by an attorney: contact the attorney.")


def breathing_space(f: Facts) -> Failure | None:
    if not f.policy.breathing_space_days:
        return None
    for restriction in f.restrictions:
        if restriction.kind == "breathing_space" and restriction.active_at(f.at):
            ends = restriction.ends_at or restriction.starts_at + timedelta(days=f.policy.breathing_space_days)
            if f.at < ends:
                return Failure(f"Breathing space until {ends.astimezone(f.zone):%Y-%m-%d}.", ends)
    return None


def vulnerable(f: Facts) -> Failure | None:
    if not f.policy.pause_on_vulnerability:
        return None
    return _restriction_failure(f, "vulnerable", "Vulnerable customer: collection contact is paused.")


def dispute_pause(f: Facts) -> Failure | None:
    if f.open_dispute:
        return Failure("The borrower disputes the debt: contact is paused until the dispute is resolved.")
    return None


def arrangement_pause(f: Facts) -> Failure | None:
    # "locate" is for third parties: on the borrower's own points it is collection contact.
    if f.arrangement_active and (f.purpose == "collect" or not f.third_party):
        return Failure("A hardship arrangement is in force: no collection contact while it is kept.")
    return None


def template_not_approved(f: Facts) -> Failure | None:
    if f.template is not None and f.template.status != "approved":
        return Failure("This template is not approved.")
    if f.template is None and f.channel in MESSAGE_CHANNELS:
        return Failure("Messages go out only from an approved template: choose one.")
    return None


# -- field visits ------------------------------------------------------------------------


def field_visits_allowed(f: Facts) -> Failure | None:
    if f.channel == "visit" and not f.policy.field_visits_allowed:
        return Failure("Field visits are not allowed under this contact policy.")
    return None


def field_visit_vulnerable(f: Facts) -> Failure | None:
    # UK (FCA CONC 7): never visit a vulnerable customer, whatever else the policy pauses.
    if f.channel == "visit" and f.policy.preset == "uk":
        return _restriction_failure(f, "vulnerable", "Vulnerable customer: no field visits.")
    return None


def field_visit_threshold(f: Facts) -> Failure | None:
    if f.channel != "visit":
        return None
    p, case = f.policy, f.case
    if case and (
        case.overdue_amount >= p.field_visit_min_overdue
        or case.max_dpd >= p.field_visit_min_dpd
        or case.legal_escalated
    ):
        return None
    return Failure(
        f"Below the field-visit threshold (overdue {p.field_visit_min_overdue}, {p.field_visit_min_dpd} DPD, "
        "or legal escalation)."
    )


def field_visit_approved(f: Facts) -> Failure | None:
    if f.channel == "visit" and (f.visit is None or f.visit.status != "approved"):
        return Failure("A field visit needs a supervisor's approval first.")
    return None


def field_visit_staff(f: Facts) -> Failure | None:
    staff = f.visit.staff_count if f.visit else 0
    if f.channel == "visit" and staff < f.policy.field_visit_min_staff:
        return Failure(f"A field visit needs at least {f.policy.field_visit_min_staff} staff ({staff} named).")
    return None


# -- the clock ---------------------------------------------------------------------------


def _consented(f: Facts) -> bool:
    return not f.third_party and any(
        c.starts_at <= f.at < c.ends_at and c.point_id in (None, f.point_id) for c in f.consents
    )


def quiet_hours(f: Facts) -> Failure | None:
    # A letter is posted, not delivered at a chosen hour: quiet hours do not apply to it.
    p = f.policy
    if f.channel == "letter" or not in_daily_window(f.local.time(), p.quiet_start, p.quiet_end):
        return None
    if _consented(f):
        return None
    return Failure(
        f"Quiet hours {_hm(p.quiet_start)}–{_hm(p.quiet_end)} in the contacted person's time ({f.zone.key}).",
        next_local(f.at, p.quiet_end, f.zone),
    )


def blackout(f: Facts) -> Failure | None:
    for r in f.restrictions:
        if r.kind == "blackout" and r.active_at(f.at) and r.daily_from and r.daily_to:
            if in_daily_window(f.local.time(), r.daily_from, r.daily_to):
                return Failure(
                    f"The borrower's blackout window {_hm(r.daily_from)}–{_hm(r.daily_to)} ({f.zone.key}).",
                    next_local(f.at, r.daily_to, f.zone),
                )
    return None


def _calls_today(f: Facts, *, number: str | None, outcomes: frozenset[str]) -> int:
    today = local_day(f.at, f.zone)
    return sum(
        1
        for c in f.calls
        if c.at <= f.at
        and c.outcome in outcomes
        and (c.number == number if number else c.to_borrower)
        and local_day(c.at, f.zone) == today
    )


def unanswered_dials(f: Facts) -> Failure | None:
    limit = f.policy.max_unanswered_dials_per_number_per_day
    if f.channel != "call" or limit is None:
        return None
    dials = _calls_today(f, number=f.number, outcomes=UNANSWERED)
    if dials >= limit:
        return Failure(
            f"{dials} unanswered dials to this number today (limit {limit}).", next_local_midnight(f.at, f.zone)
        )
    return None


def conversations_per_day(f: Facts) -> Failure | None:
    limit = f.policy.max_conversations_per_day
    if f.channel != "call" or f.third_party or limit is None:
        return None
    talks = _calls_today(f, number=None, outcomes=CONVERSATIONS)
    if talks >= limit:
        return Failure(
            f"{talks} conversations with the borrower today (limit {limit}).", next_local_midnight(f.at, f.zone)
        )
    return None


def _person_calls(f: Facts) -> list[PastCall]:
    """Calls to the person now called: the borrower on any number, or this emergency contact."""
    return [c for c in f.calls if c.at <= f.at and (c.to_borrower if not f.third_party else c.number == f.number)]


def calls_per_7_days(f: Facts) -> Failure | None:
    limit = f.policy.max_calls_per_7_days
    if f.channel != "call" or limit is None:
        return None
    window = sorted(c.at for c in _person_calls(f) if c.at > f.at - WEEK)
    if len(window) >= limit:
        # The call that frees a slot is the one that leaves the window first.
        return Failure(f"{len(window)} calls to this person in the last 7 days (limit {limit}).", window[-limit] + WEEK)
    return None


def conversation_cooldown(f: Facts) -> Failure | None:
    days = f.policy.conversation_cooldown_days
    if f.channel != "call" or f.third_party or not days:
        return None
    talks = [c.at for c in _person_calls(f) if c.outcome in CONVERSATIONS]
    if talks and f.at < max(talks) + timedelta(days=days):
        last = max(talks)
        return Failure(
            f"A conversation took place on {last.astimezone(f.zone):%Y-%m-%d %H:%M}: no call for {days} days.",
            last + timedelta(days=days),
        )
    return None


# The order a blocked attempt is explained in: the first failure decides.
RULE_ORDER: tuple[tuple[str, Rule], ...] = (
    ("not_permitted_party", not_permitted_party),
    ("contact_point_dead", contact_point_dead),
    ("emergency_contact_objected", emergency_contact_objected),
    ("emergency_contact_consent", emergency_contact_consent),
    ("third_party_debt", third_party_debt),
    ("borrower_reachable", borrower_reachable),
    ("third_party_once", third_party_once),
    ("third_party_template", third_party_template),
    ("cease", cease),
    ("opt_out", opt_out),
    ("attorney", attorney),
    ("breathing_space", breathing_space),
    ("vulnerable", vulnerable),
    ("dispute_pause", dispute_pause),
    ("arrangement_pause", arrangement_pause),
    ("template_not_approved", template_not_approved),
    ("field_visits_allowed", field_visits_allowed),
    ("field_visit_vulnerable", field_visit_vulnerable),
    ("field_visit_threshold", field_visit_threshold),
    ("field_visit_approved", field_visit_approved),
    ("field_visit_staff", field_visit_staff),
    ("quiet_hours", quiet_hours),
    ("blackout", blackout),
    ("unanswered_dials", unanswered_dials),
    ("conversations_per_day", conversations_per_day),
    ("calls_per_7_days", calls_per_7_days),
    ("conversation_cooldown", conversation_cooldown),
)
RULE_NAMES = tuple(name for name, _ in RULE_ORDER)


def failures(facts: Facts) -> dict[str, Failure]:
    """Every failing rule, in RULE_ORDER."""
    found = {}
    for name, rule in RULE_ORDER:
        failure = rule(facts)
        if failure is not None:
            found[name] = failure
    return found


def next_allowed_at(facts: Facts, failed: dict[str, Failure]) -> datetime | None:
    """The first instant at which no rule fails, found by hopping past each time rule's end.

    None when a failing rule cannot be lifted by waiting (or the hops run out).
    """
    for _ in range(MAX_HOPS):
        if any(failure.until is None for failure in failed.values()):
            return None
        candidate = max(failure.until for failure in failed.values() if failure.until is not None)
        facts = replace(facts, at=candidate)
        failed = failures(facts)
        if not failed:
            return candidate
    return None


def evaluate(facts: Facts) -> Verdict:
    """Run every rule; the first failure in RULE_ORDER decides and names the next allowed time."""
    failed = failures(facts)
    results = {name: (failed[name].message if name in failed else "ok") for name in RULE_NAMES}
    if not failed:
        return Verdict(allowed=True, results=results)
    rule, failure = next(iter(failed.items()))
    return Verdict(
        allowed=False,
        rule=rule,
        message=failure.message,
        next_allowed_at=next_allowed_at(facts, failed),
        results=results,
    )
