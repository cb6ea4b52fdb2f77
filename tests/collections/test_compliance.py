"""The compliance gate, rule by rule, per preset (DESIGN.md's table), at exact instants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db.models import Max

from riskdesk.collections import contact
from riskdesk.collections.compliance import RULE_NAMES
from riskdesk.collections.contact import PRESETS, ContactBlocked, contact_attempt_log
from riskdesk.collections.gate import Decision, contact_check
from riskdesk.collections.models import (
    Arrangement,
    Case,
    ContactAttempt,
    ContactPolicy,
    FieldVisit,
    MessageTemplate,
)
from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog
from riskdesk.lending.models import Borrower, ContactPoint, EmergencyContact, Loan
from tests.conftest import TODAY

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
ZONE_OF = {"cn": SHANGHAI, "us": LOS_ANGELES, "uk": LONDON}


def local(zone: ZoneInfo, day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=zone)


def make_policy(preset: str, **overrides: object) -> ContactPolicy:
    """A policy version in force from 2001, after the default v1, whatever ran before."""
    version = (ContactPolicy.objects.aggregate(top=Max("version"))["top"] or 0) + 1
    return ContactPolicy.objects.create(
        version=version,
        preset=preset,
        effective_from=datetime(2001, 1, 1, tzinfo=UTC),
        **{**PRESETS[preset], **overrides},
    )


def make_case(borrower: Borrower, **fields: object) -> Case:
    values = {"worst_bucket": "M1", "opened_on": TODAY, "updated_on": TODAY, "max_dpd": 12}
    return Case.objects.create(borrower=borrower, **{**values, **fields})


def phone_of(borrower: Borrower) -> ContactPoint:
    return borrower.contact_points.filter(kind="phone").order_by("pk").first()


def in_zone(borrower: Borrower, zone: ZoneInfo) -> Borrower:
    borrower.timezone = zone.key
    borrower.save(update_fields=["timezone"])
    return borrower


def call(case: Case, at: datetime, outcome: str = "no_answer", **kwargs: object) -> ContactAttempt:
    kwargs.setdefault("contact_point", phone_of(case.borrower))
    kwargs.setdefault("actor", None)
    return contact_attempt_log(case=case, channel="call", at=at, outcome=outcome, source="collector", **kwargs)


def check(case: Case, at: datetime, channel: str = "call", **kwargs: object) -> Decision:
    if channel in ("call", "sms") and "emergency_contact" not in kwargs:
        kwargs.setdefault("contact_point", phone_of(case.borrower))
    return contact_check(case=case, borrower=case.borrower, channel=channel, at=at, **kwargs)


def approved_template(channel: str) -> int:
    """An approved borrower template for `channel`: messages go out only from one."""
    template, _ = MessageTemplate.objects.get_or_create(
        code="test-reminder", language="zh-hans", channel=channel, defaults={"body": "{name}", "status": "approved"}
    )
    return template.pk


def assert_blocked(decision: Decision, rule: str, next_allowed_at: datetime | None) -> None:
    assert (decision.allowed, decision.rule) == (False, rule), decision.results
    assert decision.next_allowed_at == next_allowed_at


@pytest.fixture
def policy(request: pytest.FixtureRequest, db: None) -> ContactPolicy:
    return make_policy(getattr(request, "param", "cn"))


@pytest.fixture
def case(borrower: Borrower) -> Case:
    return make_case(borrower)


@pytest.fixture
def emergency(borrower: Borrower) -> EmergencyContact:
    return EmergencyContact.objects.create(
        borrower=borrower, name="李四", phone="13900139000", relationship="sibling", consent=True
    )


# -- quiet hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "last_allowed", "first_blocked"),
    [
        ("cn", time(21, 59, 59), time(22, 0, 0)),
        ("us", time(20, 59), time(21, 0)),
        ("uk", time(20, 59), time(21, 0)),
    ],
    indirect=["policy"],
)
def test_quiet_hours_start_exactly_at_the_presets_edge_in_the_borrowers_time(
    policy: ContactPolicy, case: Case, last_allowed: time, first_blocked: time
) -> None:
    zone = ZONE_OF[policy.preset]
    in_zone(case.borrower, zone)

    assert check(case, datetime.combine(TODAY, last_allowed, tzinfo=zone)).allowed
    blocked = check(case, datetime.combine(TODAY, first_blocked, tzinfo=zone))

    assert_blocked(blocked, "quiet_hours", local(zone, 24, 8))


@pytest.mark.parametrize("policy", ["cn", "us", "uk"], indirect=True)
def test_quiet_hours_end_at_eight_local(policy: ContactPolicy, case: Case) -> None:
    zone = ZONE_OF[policy.preset]
    in_zone(case.borrower, zone)

    assert_blocked(check(case, local(zone, 23, 7, 59, 59)), "quiet_hours", local(zone, 23, 8))
    assert check(case, local(zone, 23, 8)).allowed


def test_quiet_hours_follow_the_borrowers_zone_not_the_servers(policy: ContactPolicy, case: Case) -> None:
    # 14:00 in Shanghai (the server's zone) is 22:00 the evening before in Los Angeles.
    in_zone(case.borrower, LOS_ANGELES)

    decision = check(case, local(SHANGHAI, 23, 14))

    assert_blocked(decision, "quiet_hours", datetime(2026, 11, 23, 16, 0, tzinfo=UTC))
    assert check(case, local(SHANGHAI, 23, 2)).allowed  # 10:00 the day before in Los Angeles


def test_london_borrower_is_checked_in_london_time_across_the_clock_change(case: Case) -> None:
    make_policy("uk")
    in_zone(case.borrower, LONDON)

    # 2026-03-29 01:00 GMT the clocks go forward: 08:00 BST is 07:00 UTC.
    blocked = check(case, datetime(2026, 3, 28, 22, 0, tzinfo=UTC))

    assert_blocked(blocked, "quiet_hours", datetime(2026, 3, 29, 7, 0, tzinfo=UTC))


def test_recorded_consent_lets_the_borrower_be_called_in_quiet_hours(policy: ContactPolicy, case: Case) -> None:
    contact.quiet_hours_consent_record(
        borrower=case.borrower,
        starts_at=local(SHANGHAI, 23, 21),
        ends_at=local(SHANGHAI, 23, 23),
        evidence="call #88: asked to be called after 22:00",
        actor=None,
    )

    assert check(case, local(SHANGHAI, 23, 22, 30)).allowed
    assert_blocked(check(case, local(SHANGHAI, 23, 23, 0)), "quiet_hours", local(SHANGHAI, 24, 8))


def test_the_borrowers_consent_does_not_cover_an_emergency_contact(
    policy: ContactPolicy, case: Case, emergency: EmergencyContact
) -> None:
    contact.contact_point_mark(contact_point=phone_of(case.borrower), status="disconnected", actor=None)
    contact.quiet_hours_consent_record(
        borrower=case.borrower,
        starts_at=local(SHANGHAI, 23, 21),
        ends_at=local(SHANGHAI, 23, 23),
        evidence="form",
        actor=None,
    )

    decision = check(case, local(SHANGHAI, 23, 22, 30), emergency_contact=emergency, purpose="locate")

    assert_blocked(decision, "quiet_hours", local(SHANGHAI, 24, 8))


# -- call caps -------------------------------------------------------------------------------


def test_seventh_unanswered_dial_to_a_number_in_a_day_is_blocked_until_eight_next_morning(
    policy: ContactPolicy, case: Case
) -> None:
    for minute in range(0, 60, 10):
        call(case, local(SHANGHAI, 23, 10, minute), "busy" if minute == 30 else "no_answer")

    decision = check(case, local(SHANGHAI, 23, 11))

    # Local midnight frees the number, but midnight is in quiet hours: 08:00 is the first legal dial.
    assert_blocked(decision, "unanswered_dials", local(SHANGHAI, 24, 8))
    assert decision.results["quiet_hours"] == "ok"


def test_the_dial_cap_counts_each_number_apart(policy: ContactPolicy, case: Case) -> None:
    other = ContactPoint.objects.create(borrower=case.borrower, kind="phone", value="13700137000")
    for minute in range(6):
        call(case, local(SHANGHAI, 23, 10, minute))

    assert check(case, local(SHANGHAI, 23, 11), contact_point=other).allowed


def test_the_dial_cap_resets_on_the_borrowers_local_day(policy: ContactPolicy, case: Case) -> None:
    for minute in range(6):
        call(case, local(SHANGHAI, 22, 21, minute))

    assert check(case, local(SHANGHAI, 23, 8)).allowed


def test_fourth_conversation_with_the_borrower_in_a_day_is_blocked(policy: ContactPolicy, case: Case) -> None:
    call(case, local(SHANGHAI, 23, 9), "right_party")
    call(case, local(SHANGHAI, 23, 10), "refusal")
    call(case, local(SHANGHAI, 23, 11), "hardship_request")

    decision = check(case, local(SHANGHAI, 23, 12))

    assert_blocked(decision, "conversations_per_day", local(SHANGHAI, 24, 8))
    with pytest.raises(ContactBlocked) as blocked:
        call(case, local(SHANGHAI, 23, 12), "right_party")
    assert blocked.value.extra["rule"] == "conversations_per_day"
    assert blocked.value.extra["next_allowed_at"] == "2026-11-24T00:00:00+00:00"


@pytest.mark.parametrize("policy", ["us"], indirect=True)
def test_eighth_call_in_any_rolling_seven_days_is_blocked_until_the_oldest_leaves_the_window(
    policy: ContactPolicy, case: Case
) -> None:
    in_zone(case.borrower, LOS_ANGELES)
    for day in range(17, 24):
        call(case, local(LOS_ANGELES, day, 9))

    decision = check(case, local(LOS_ANGELES, 23, 12))

    assert_blocked(decision, "calls_per_7_days", local(LOS_ANGELES, 24, 9))
    assert check(case, local(LOS_ANGELES, 24, 9)).allowed


@pytest.mark.parametrize("policy", ["us"], indirect=True)
def test_no_call_for_seven_days_after_a_conversation(policy: ContactPolicy, case: Case) -> None:
    in_zone(case.borrower, LOS_ANGELES)
    call(case, local(LOS_ANGELES, 20, 10, 15), "right_party")

    decision = check(case, local(LOS_ANGELES, 23, 10))

    assert_blocked(decision, "conversation_cooldown", local(LOS_ANGELES, 27, 10, 15))
    assert check(case, local(LOS_ANGELES, 27, 10, 15)).allowed
    assert check(
        case,
        local(LOS_ANGELES, 23, 10),
        channel="email",
        contact_point=case.borrower.contact_points.get(kind="email"),
        template_id=approved_template("email"),
    ).allowed


@pytest.mark.parametrize("policy", ["uk"], indirect=True)
def test_uk_has_no_fixed_call_cap(policy: ContactPolicy, case: Case) -> None:
    in_zone(case.borrower, LONDON)
    for minute in range(10):
        call(case, local(LONDON, 23, 10, minute), "right_party" if minute % 2 else "no_answer")

    assert check(case, local(LONDON, 23, 11)).allowed


# -- who may be contacted -------------------------------------------------------------------


def test_a_number_that_is_not_a_registered_contact_point_is_refused(
    policy: ContactPolicy, case: Case, product: object
) -> None:
    stranger = Borrower.objects.create(name="王五", national_id="110101199202023456")
    phone_book_number = ContactPoint.objects.create(borrower=stranger, kind="phone", value="13600136000")

    with pytest.raises(DomainError) as refused:
        call(case, local(SHANGHAI, 23, 10), contact_point=phone_book_number)

    assert (refused.value.code, refused.value.field) == ("not_permitted_party", "contact_point")
    assert_blocked(check(case, local(SHANGHAI, 23, 10), contact_point=phone_book_number), "not_permitted_party", None)


def test_a_call_needs_a_registered_phone(policy: ContactPolicy, case: Case) -> None:
    no_point = contact_check(case=case, borrower=case.borrower, channel="call", at=local(SHANGHAI, 23, 10))
    email = case.borrower.contact_points.get(kind="email")

    assert_blocked(no_point, "not_permitted_party", None)
    assert_blocked(check(case, local(SHANGHAI, 23, 10), contact_point=email), "not_permitted_party", None)
    assert check(case, local(SHANGHAI, 23, 10), channel="letter").allowed


def test_a_dead_number_is_not_called_again(policy: ContactPolicy, case: Case) -> None:
    call(case, local(SHANGHAI, 23, 10), "wrong_number")

    assert phone_of(case.borrower).status == "wrong_number"
    assert_blocked(check(case, local(SHANGHAI, 23, 11)), "contact_point_dead", None)
    app = case.borrower.contact_points.get(kind="app")
    assert check(
        case, local(SHANGHAI, 23, 11), channel="push", contact_point=app, template_id=approved_template("push")
    ).allowed


@pytest.mark.parametrize("policy", ["cn", "us"], indirect=True)
def test_an_emergency_contact_is_blocked_while_the_borrower_is_reachable(
    policy: ContactPolicy, case: Case, emergency: EmergencyContact
) -> None:
    zone = ZONE_OF[policy.preset]
    in_zone(case.borrower, zone)
    call(case, local(zone, 23, 9), "no_answer")
    call(case, local(zone, 23, 10), "voicemail")

    blocked = check(case, local(zone, 23, 11), emergency_contact=emergency, purpose="locate")
    call(case, local(zone, 23, 11), "busy")
    allowed = check(case, local(zone, 23, 12), emergency_contact=emergency, purpose="locate")

    assert_blocked(blocked, "borrower_reachable", None)
    assert allowed.allowed, allowed.results


def test_an_emergency_contact_may_be_called_once_every_phone_of_the_borrower_is_dead(
    policy: ContactPolicy, case: Case, emergency: EmergencyContact
) -> None:
    contact.contact_point_mark(contact_point=phone_of(case.borrower), status="disconnected", actor=None)

    assert check(case, local(SHANGHAI, 23, 10), emergency_contact=emergency, purpose="locate").allowed


def test_an_emergency_contact_is_never_asked_about_the_debt(
    policy: ContactPolicy, case: Case, emergency: EmergencyContact
) -> None:
    contact.contact_point_mark(contact_point=phone_of(case.borrower), status="disconnected", actor=None)

    assert_blocked(check(case, local(SHANGHAI, 23, 10), emergency_contact=emergency), "third_party_debt", None)


def test_an_objection_stops_an_emergency_contact_for_good(
    policy: ContactPolicy, case: Case, emergency: EmergencyContact
) -> None:
    contact.contact_point_mark(contact_point=phone_of(case.borrower), status="disconnected", actor=None)
    call(
        case, local(SHANGHAI, 23, 10), "third_party", contact_point=None, emergency_contact=emergency, purpose="locate"
    )

    contact.emergency_contact_object(emergency_contact=emergency, actor=None, at=local(SHANGHAI, 23, 10, 5))

    assert_blocked(
        check(case, local(SHANGHAI, 30, 10), emergency_contact=emergency, purpose="locate"),
        "emergency_contact_objected",
        None,
    )


@pytest.mark.parametrize("policy", ["us"], indirect=True)
def test_us_emergency_contact_is_asked_for_location_once(
    policy: ContactPolicy, case: Case, emergency: EmergencyContact
) -> None:
    in_zone(case.borrower, LOS_ANGELES)
    contact.contact_point_mark(contact_point=phone_of(case.borrower), status="disconnected", actor=None)
    call(
        case,
        local(LOS_ANGELES, 23, 10),
        "third_party",
        contact_point=None,
        emergency_contact=emergency,
        purpose="locate",
    )

    decision = check(case, local(LOS_ANGELES, 30, 10), emergency_contact=emergency, purpose="locate")

    assert_blocked(decision, "third_party_once", None)


def test_a_message_to_an_emergency_contact_needs_an_approved_third_party_template(
    policy: ContactPolicy, case: Case, emergency: EmergencyContact
) -> None:
    contact.contact_point_mark(contact_point=phone_of(case.borrower), status="disconnected", actor=None)
    borrower_template = MessageTemplate.objects.create(
        code="due", channel="sms", body="{name}, please call us.", status="approved"
    )
    locate_template = MessageTemplate.objects.create(
        code="locate", channel="sms", audience="third_party", body="请转告{name}回电。", status="approved"
    )
    at = local(SHANGHAI, 23, 10)

    wrong = check(
        case, at, channel="sms", emergency_contact=emergency, purpose="locate", template_id=borrower_template.pk
    )
    right = check(
        case, at, channel="sms", emergency_contact=emergency, purpose="locate", template_id=locate_template.pk
    )

    assert_blocked(wrong, "third_party_template", None)
    assert right.allowed


def test_a_draft_template_is_not_sent(policy: ContactPolicy, case: Case) -> None:
    draft = MessageTemplate.objects.create(code="due", channel="sms", body="{name}, please pay.")

    assert_blocked(
        check(case, local(SHANGHAI, 23, 10), channel="sms", template_id=draft.pk), "template_not_approved", None
    )


# -- the borrower's own limits and pauses ------------------------------------------------------


def test_a_blackout_window_blocks_until_it_ends(policy: ContactPolicy, case: Case) -> None:
    contact.contact_restriction_add(
        borrower=case.borrower,
        kind="blackout",
        daily_from=time(12, 0),
        daily_to=time(14, 0),
        starts_at=local(SHANGHAI, 1, 0),
        actor=None,
    )

    assert check(case, local(SHANGHAI, 23, 11, 59, 59)).allowed
    assert_blocked(check(case, local(SHANGHAI, 23, 12)), "blackout", local(SHANGHAI, 23, 14))
    assert check(case, local(SHANGHAI, 23, 14)).allowed


def test_a_blackout_that_runs_into_quiet_hours_points_past_both(policy: ContactPolicy, case: Case) -> None:
    contact.contact_restriction_add(
        borrower=case.borrower,
        kind="blackout",
        daily_from=time(20, 0),
        daily_to=time(9, 30),
        starts_at=local(SHANGHAI, 1, 0),
        actor=None,
    )

    assert_blocked(check(case, local(SHANGHAI, 23, 21)), "blackout", local(SHANGHAI, 24, 9, 30))


@pytest.mark.parametrize("policy", ["cn", "us", "uk"], indirect=True)
def test_a_cease_request_stops_every_channel(policy: ContactPolicy, case: Case) -> None:
    zone = ZONE_OF[policy.preset]
    in_zone(case.borrower, zone)
    call(case, local(zone, 23, 10), "cease_request")

    assert_blocked(check(case, local(zone, 23, 11)), "cease", None)
    assert_blocked(check(case, local(zone, 23, 11), channel="letter"), "cease", None)


def test_an_opt_out_closes_only_its_channel(policy: ContactPolicy, case: Case) -> None:
    restriction = contact.contact_restriction_add(
        borrower=case.borrower, kind="opt_out", channel="sms", starts_at=local(SHANGHAI, 1, 0), actor=None
    )

    assert_blocked(check(case, local(SHANGHAI, 23, 10), channel="sms"), "opt_out", None)
    assert check(case, local(SHANGHAI, 23, 10)).allowed
    contact.contact_restriction_lift(restriction=restriction, actor=None)
    assert check(case, datetime.now(UTC) + timedelta(days=1, hours=1), channel="sms").results["opt_out"] == "ok"


@pytest.mark.parametrize("policy", ["cn", "us", "uk"], indirect=True)
def test_an_open_dispute_pauses_contact_until_resolved(policy: ContactPolicy, case: Case) -> None:
    zone = ZONE_OF[policy.preset]
    in_zone(case.borrower, zone)
    call(case, local(zone, 23, 10), "dispute")

    assert_blocked(check(case, local(zone, 23, 11), channel="letter"), "dispute_pause", None)
    contact.dispute_resolve(dispute=case.borrower.disputes.get(), resolution="statement sent", actor=None)
    assert check(case, local(zone, 23, 11), channel="letter").allowed


def test_an_arrangement_in_force_pauses_collection_contact(
    policy: ContactPolicy, case: Case, make_loan: Callable[..., Loan], users: dict[str, User]
) -> None:
    arrangement = Arrangement.objects.create(
        case=case, loan=make_loan(), kind="extension", months=3, reason="job loss", requested_by=users["collector"]
    )
    assert check(case, local(SHANGHAI, 23, 10)).allowed  # requested, not yet in force

    arrangement.status = Arrangement.Status.ACTIVE
    arrangement.save(update_fields=["status"])

    assert_blocked(check(case, local(SHANGHAI, 23, 10)), "arrangement_pause", None)


@pytest.mark.parametrize(("policy", "paused"), [("us", True), ("cn", False)], indirect=["policy"])
def test_attorney_representation_pauses_us_contact(policy: ContactPolicy, case: Case, paused: bool) -> None:
    zone = ZONE_OF[policy.preset]
    in_zone(case.borrower, zone)
    contact.contact_restriction_add(borrower=case.borrower, kind="attorney", starts_at=local(zone, 1, 0), actor=None)

    decision = check(case, local(zone, 23, 10))

    assert (decision.allowed, decision.rule) == ((False, "attorney") if paused else (True, ""))


@pytest.mark.parametrize("policy", ["uk"], indirect=True)
def test_breathing_space_lasts_sixty_days_then_waits_for_the_morning(policy: ContactPolicy, case: Case) -> None:
    in_zone(case.borrower, LONDON)
    contact.contact_restriction_add(
        borrower=case.borrower, kind="breathing_space", starts_at=datetime(2026, 11, 1, 0, 0, tzinfo=UTC), actor=None
    )

    decision = check(case, local(LONDON, 23, 10))

    # 60 days from 1 November is midnight on 31 December, inside quiet hours: 08:00 GMT.
    assert_blocked(decision, "breathing_space", datetime(2026, 12, 31, 8, 0, tzinfo=UTC))


@pytest.mark.parametrize(("policy", "paused"), [("uk", True), ("cn", False)], indirect=["policy"])
def test_a_vulnerable_customer_is_not_chased_in_the_uk(policy: ContactPolicy, case: Case, paused: bool) -> None:
    zone = ZONE_OF[policy.preset]
    in_zone(case.borrower, zone)
    contact.contact_restriction_add(borrower=case.borrower, kind="vulnerable", starts_at=local(zone, 1, 0), actor=None)

    decision = check(case, local(zone, 23, 10))

    assert (decision.allowed, decision.rule) == ((False, "vulnerable") if paused else (True, ""))


# -- field visits ---------------------------------------------------------------------------------


def make_visit(case: Case, users: dict[str, User], *, status: str = "approved", staff: int = 2) -> FieldVisit:
    visit = FieldVisit.objects.create(
        case=case,
        planned_at=local(SHANGHAI, 24, 10),
        address="北京市朝阳区1号",
        reason="unreachable for 40 days",
        status=status,
        requested_by=users["collector"],
    )
    visit.staff.set([users["collector"], users["collections_supervisor"], users["risk_officer"]][:staff])
    return visit


def visit_check(case: Case, visit: FieldVisit | None, at: datetime) -> Decision:
    return contact_check(case=case, borrower=case.borrower, channel="visit", at=at, field_visit=visit)


@pytest.fixture
def late_case(borrower: Borrower) -> Case:
    return make_case(borrower, worst_bucket="M4", max_dpd=95, overdue_amount=Decimal("1200.00"))


def test_an_approved_visit_by_two_staff_over_the_threshold_is_allowed(
    policy: ContactPolicy, late_case: Case, users: dict[str, User]
) -> None:
    assert visit_check(late_case, make_visit(late_case, users), local(SHANGHAI, 24, 10)).allowed


@pytest.mark.parametrize(
    ("fields", "allowed"),
    [
        ({"max_dpd": 90, "overdue_amount": Decimal("4999.99")}, False),
        ({"max_dpd": 90, "overdue_amount": Decimal("5000.00")}, True),
        ({"max_dpd": 91, "overdue_amount": Decimal("0.00")}, True),
        ({"max_dpd": 30, "overdue_amount": Decimal("100.00"), "legal_escalated_on": TODAY}, True),
    ],
)
def test_a_visit_needs_the_policy_threshold(
    policy: ContactPolicy, borrower: Borrower, users: dict[str, User], fields: dict[str, object], allowed: bool
) -> None:
    case = make_case(borrower, **fields)

    decision = visit_check(case, make_visit(case, users), local(SHANGHAI, 24, 10))

    assert (decision.allowed, decision.rule) == (allowed, "" if allowed else "field_visit_threshold")


def test_a_visit_needs_a_supervisors_approval(policy: ContactPolicy, late_case: Case, users: dict[str, User]) -> None:
    visit = make_visit(late_case, users, status="requested")

    assert_blocked(visit_check(late_case, visit, local(SHANGHAI, 24, 10)), "field_visit_approved", None)
    assert_blocked(visit_check(late_case, None, local(SHANGHAI, 24, 10)), "field_visit_approved", None)


def test_a_visit_needs_two_staff(policy: ContactPolicy, late_case: Case, users: dict[str, User]) -> None:
    visit = make_visit(late_case, users, staff=1)

    assert_blocked(visit_check(late_case, visit, local(SHANGHAI, 24, 10)), "field_visit_staff", None)


def test_a_visit_is_never_in_quiet_hours(policy: ContactPolicy, late_case: Case, users: dict[str, User]) -> None:
    visit = make_visit(late_case, users)

    assert_blocked(visit_check(late_case, visit, local(SHANGHAI, 24, 7, 30)), "quiet_hours", local(SHANGHAI, 24, 8))


@pytest.mark.parametrize("policy", ["us"], indirect=True)
def test_us_policy_forbids_field_visits(policy: ContactPolicy, late_case: Case, users: dict[str, User]) -> None:
    in_zone(late_case.borrower, LOS_ANGELES)

    decision = visit_check(late_case, make_visit(late_case, users), local(LOS_ANGELES, 24, 10))

    assert_blocked(decision, "field_visits_allowed", None)


@pytest.mark.parametrize("policy", ["uk"], indirect=True)
def test_uk_never_visits_a_vulnerable_customer(policy: ContactPolicy, late_case: Case, users: dict[str, User]) -> None:
    in_zone(late_case.borrower, LONDON)
    visit = make_visit(late_case, users)
    assert visit_check(late_case, visit, local(LONDON, 24, 10)).allowed

    contact.contact_restriction_add(
        borrower=late_case.borrower, kind="vulnerable", starts_at=local(LONDON, 1, 0), actor=None
    )
    decision = visit_check(late_case, visit, local(LONDON, 24, 10))

    assert (decision.allowed, decision.rule) == (False, "vulnerable")
    assert decision.results["field_visit_vulnerable"] == "Vulnerable customer: no field visits."


# -- failing closed ------------------------------------------------------------------------------


def test_an_unknown_time_zone_blocks_every_contact(policy: ContactPolicy, case: Case) -> None:
    Borrower.objects.filter(pk=case.borrower_id).update(timezone="Mars/Olympus_Mons")
    case.borrower.refresh_from_db()

    assert_blocked(check(case, local(SHANGHAI, 23, 10)), "unknown_timezone", None)
    assert_blocked(check(case, local(SHANGHAI, 23, 10), channel="letter"), "unknown_timezone", None)


def test_no_policy_in_force_blocks_every_contact(case: Case) -> None:
    ContactPolicy.objects.all().delete()

    decision = check(case, local(SHANGHAI, 23, 10))

    assert_blocked(decision, "no_policy", None)
    assert decision.policy is None


def test_the_latest_policy_in_force_at_the_instant_governs(case: Case) -> None:
    make_policy("cn")
    us = make_policy("us")
    us.effective_from = local(SHANGHAI, 23, 12)
    us.save(update_fields=["effective_from"])

    before, after = check(case, local(SHANGHAI, 23, 11)), check(case, local(SHANGHAI, 23, 21, 30))

    assert (before.allowed, before.policy.preset) == (True, "cn")
    assert (after.rule, after.policy.version) == ("quiet_hours", us.version)


# -- what a blocked attempt leaves behind ---------------------------------------------------------


def test_every_rule_is_evaluated_and_stored(policy: ContactPolicy, case: Case) -> None:
    call(case, local(SHANGHAI, 23, 10), "cease_request")

    with pytest.raises(ContactBlocked) as blocked:
        call(case, local(SHANGHAI, 23, 22, 30))

    attempt = ContactAttempt.objects.get(pk=blocked.value.extra["attempt_id"])
    assert set(attempt.rule_results) == set(RULE_NAMES)
    assert attempt.rule_results["quiet_hours"].startswith("Quiet hours 22:00–08:00")
    assert attempt.rule_results["contact_point_dead"] == "ok"


@pytest.mark.parametrize(
    ("setup", "at", "rule", "next_allowed_at"),
    [
        ("none", local(SHANGHAI, 23, 22), "quiet_hours", local(SHANGHAI, 24, 8)),
        ("cease", local(SHANGHAI, 23, 10), "cease", None),
        ("dials", local(SHANGHAI, 23, 18), "unanswered_dials", local(SHANGHAI, 24, 8)),
        ("zone", local(SHANGHAI, 23, 10), "unknown_timezone", None),
    ],
)
def test_a_blocked_attempt_is_recorded_with_an_audit_row_naming_rule_and_policy_version(
    policy: ContactPolicy, case: Case, setup: str, at: datetime, rule: str, next_allowed_at: datetime | None
) -> None:
    if setup == "cease":
        contact.contact_restriction_add(
            borrower=case.borrower, kind="cease", starts_at=local(SHANGHAI, 1, 0), actor=None
        )
    if setup == "dials":
        for hour in range(10, 16):
            call(case, local(SHANGHAI, 23, hour))
    if setup == "zone":
        Borrower.objects.filter(pk=case.borrower_id).update(timezone="Nowhere/Atlantis")
        case.borrower.refresh_from_db()

    with pytest.raises(ContactBlocked) as blocked:
        call(case, at, "right_party")

    attempt = ContactAttempt.objects.get(pk=blocked.value.extra["attempt_id"])
    audit = AuditLog.objects.get(action="contact.blocked", entity_id=str(attempt.pk))
    assert (attempt.allowed, attempt.outcome, attempt.rule, attempt.policy) == (False, "blocked", rule, policy)
    assert attempt.next_allowed_at == next_allowed_at
    assert (audit.after["rule"], audit.after["policy_version"]) == (rule, policy.version)
    assert blocked.value.code == "contact_blocked"


def test_a_blocked_attempt_survives_the_error(policy: ContactPolicy, case: Case) -> None:
    with pytest.raises(ContactBlocked):
        call(case, local(SHANGHAI, 23, 23))

    assert list(ContactAttempt.objects.values_list("allowed", "rule")) == [(False, "quiet_hours")]
