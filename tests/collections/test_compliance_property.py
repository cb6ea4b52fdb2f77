"""Property: over random sequences of attempts, reminders and clock times, the gate never
allows a contact that a rule forbids.

Each example logs its steps through the real services (a collector's attempt through
`contact_attempt_log`, a reminder through `contact_check` + `contact_attempt_record_decision`),
then an oracle written from DESIGN.md's table, independent of compliance.py, replays the
ALLOWED attempts and checks each against what came before it. Every example runs in a
savepoint that is rolled back, so examples do not see each other's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from riskdesk.collections.contact import (
    CALL_OUTCOMES,
    MESSAGE_OUTCOMES,
    ContactBlocked,
    contact_attempt_log,
    contact_attempt_record_decision,
)
from riskdesk.collections.gate import contact_check
from riskdesk.collections.models import Case, ContactAttempt
from riskdesk.core.errors import DomainError
from riskdesk.lending.models import Borrower, ContactPoint, EmergencyContact
from tests.collections.test_compliance import make_case, make_policy

ZONES = {"cn": ZoneInfo("Asia/Shanghai"), "us": ZoneInfo("America/New_York")}
# Which party each target reaches and over which channels.
TARGET_CHANNELS = {
    "phone1": ("call", "sms"),
    "phone2": ("call", "sms"),
    "email": ("email",),
    "app": ("push",),
    "emergency": ("call", "sms"),
    "letter": ("letter",),
    "stranger": ("call",),
}
SMS_OUTCOMES = sorted(MESSAGE_OUTCOMES | {"wrong_number"})
UNANSWERED = {"no_answer", "busy", "voicemail"}
TALKS = {"right_party", "promise_to_pay", "refusal", "dispute", "cease_request", "hardship_request", "third_party"}
FAILED = UNANSWERED | {"wrong_number", "disconnected", "failed"}


class Rollback(Exception):
    """Raised to roll an example's savepoint back."""


@dataclass(frozen=True)
class Step:
    gap_minutes: int
    target: str
    channel_pick: int
    outcome_pick: int
    locate: bool
    reminder: bool
    repeat: int  # a burst: the same contact again every 2 minutes


# Mostly quick calls to one number, so the caps are reached within a day; now and then
# hours or a day pass, so quiet hours, the rolling week and the cooldown come into play.
steps = st.lists(
    st.builds(
        Step,
        gap_minutes=st.one_of(
            st.integers(1, 15), st.integers(1, 15), st.integers(1, 15), st.integers(60, 600), st.integers(600, 2000)
        ),
        target=st.sampled_from(["phone1"] * 5 + ["emergency"] * 2 + sorted(TARGET_CHANNELS)),
        channel_pick=st.sampled_from([0, 0, 0, 1]),
        outcome_pick=st.integers(0, 50),
        locate=st.booleans(),
        reminder=st.booleans(),
        repeat=st.sampled_from([1, 1, 1, 8]),
    ),
    min_size=5,
    max_size=25,
)


@dataclass
class World:
    case: Case
    points: dict[str, ContactPoint]
    emergency: EmergencyContact
    stranger_phone: ContactPoint


def build_world(preset: str) -> World:
    make_policy(preset)
    borrower = Borrower.objects.create(name="赵六", national_id="P-001", timezone=ZONES[preset].key)
    points = {
        "phone1": ContactPoint.objects.create(borrower=borrower, kind="phone", value="13800000001"),
        "phone2": ContactPoint.objects.create(borrower=borrower, kind="phone", value="13800000002"),
        "email": ContactPoint.objects.create(borrower=borrower, kind="email", value="zhao@example.com"),
        "app": ContactPoint.objects.create(borrower=borrower, kind="app", value="app:zhao"),
    }
    emergency = EmergencyContact.objects.create(
        borrower=borrower, name="赵七", phone="13900000009", relationship="parent", consent=True
    )
    stranger = Borrower.objects.create(name="路人", national_id="P-002")
    stranger_phone = ContactPoint.objects.create(borrower=stranger, kind="phone", value="13600000006")
    return World(make_case(borrower), points, emergency, stranger_phone)


# Outcomes that end contact (dead number, cease, dispute) are rarer, so sequences run long.
CALL_CHOICES = ["no_answer"] * 20 + ["busy", "voicemail", "refusal", "promise_to_pay"] * 3 + sorted(CALL_OUTCOMES)


def outcome_for(channel: str, pick: int) -> str:
    choices = {"call": CALL_CHOICES, "sms": SMS_OUTCOMES}.get(channel, sorted(MESSAGE_OUTCOMES))
    return choices[pick % len(choices)]


def play(world: World, step: Step, at: datetime) -> None:
    channels = TARGET_CHANNELS[step.target]
    channel = channels[step.channel_pick % len(channels)]
    party = {
        "contact_point": world.points.get(step.target) or (world.stranger_phone if step.target == "stranger" else None),
        "emergency_contact": world.emergency if step.target == "emergency" else None,
    }
    purpose = "locate" if step.locate else "collect"
    outcome = outcome_for(channel, step.outcome_pick)
    if step.reminder and channel in ("sms", "email", "push") and step.target != "stranger":
        decision = contact_check(
            case=world.case, borrower=world.case.borrower, channel=channel, at=at, purpose=purpose, **party
        )
        contact_attempt_record_decision(
            decision=decision,
            case=world.case,
            borrower=world.case.borrower,
            channel=channel,
            at=at,
            outcome=outcome,
            source="reminder",
            purpose=purpose,
            **party,
        )
        return
    try:
        contact_attempt_log(
            case=world.case,
            channel=channel,
            at=at,
            outcome=outcome,
            actor=None,
            source="collector",
            purpose=purpose,
            **party,
        )
    except ContactBlocked:
        pass
    except DomainError as refused:
        assert step.target == "stranger" and refused.code == "not_permitted_party"


# -- the oracle ----------------------------------------------------------------------------------


def in_quiet_hours(at: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    clock = at.astimezone(zone).time()
    return clock >= start or clock < end  # every preset's quiet hours wrap midnight


def check_history(attempts: list[ContactAttempt], preset: str, zone: ZoneInfo) -> None:
    """Replay the allowed attempts in order; each must have been allowed by every rule."""
    policy = attempts[0].policy if attempts else None
    dead_points: set[int] = set()
    stopped = ""  # "cease" or "dispute" once the borrower asked for it
    prior: list[ContactAttempt] = []
    for attempt in attempts:
        assert attempt.policy == policy
        assert not stopped, f"contact after {stopped}: {attempt.at} {attempt.channel}"
        if attempt.channel != "letter":
            assert not in_quiet_hours(attempt.at, zone, policy.quiet_start, policy.quiet_end), attempt.at
        assert attempt.contact_point_id not in dead_points
        if attempt.emergency_contact_id:
            check_third_party(attempt, prior, dead_points, preset)
        if attempt.channel == "call":
            check_call_caps(attempt, prior, preset, zone)
        prior.append(attempt)
        if attempt.outcome in ("wrong_number", "disconnected") and attempt.contact_point_id:
            dead_points.add(attempt.contact_point_id)
        if attempt.outcome in ("cease_request", "dispute"):
            stopped = attempt.outcome


def check_third_party(attempt: ContactAttempt, prior: list[ContactAttempt], dead: set[int], preset: str) -> None:
    assert attempt.purpose == "locate"
    assert attempt.channel == "call", "no third-party template was ever approved"
    phones = set(
        ContactPoint.objects.filter(borrower_id=attempt.borrower_id, kind="phone").values_list("pk", flat=True)
    )
    to_borrower = [a for a in prior if a.emergency_contact_id is None]
    last_three = to_borrower[-3:]
    unreachable = phones <= dead or (len(last_three) == 3 and all(a.outcome in FAILED for a in last_three))
    assert unreachable, f"emergency contact called while the borrower was reachable at {attempt.at}"
    if preset == "us":
        assert not any(a.emergency_contact_id == attempt.emergency_contact_id for a in prior)


def number(attempt: ContactAttempt) -> tuple[int | None, int | None]:
    return attempt.contact_point_id, attempt.emergency_contact_id


def check_call_caps(attempt: ContactAttempt, prior: list[ContactAttempt], preset: str, zone: ZoneInfo) -> None:
    calls = [a for a in prior if a.channel == "call"]
    day = attempt.at.astimezone(zone).date()
    same_day = [a for a in calls if a.at.astimezone(zone).date() == day]
    to_borrower = attempt.emergency_contact_id is None
    if preset == "cn":
        dials = [a for a in same_day if number(a) == number(attempt) and a.outcome in UNANSWERED]
        assert len(dials) < 6, f"7th unanswered dial on one number at {attempt.at}"
        if to_borrower:
            talks = [a for a in same_day if a.emergency_contact_id is None and a.outcome in TALKS]
            assert len(talks) < 3, f"4th conversation at {attempt.at}"
    if preset == "us":
        same_person = [a for a in calls if (a.emergency_contact_id is None) == to_borrower]
        if not to_borrower:
            same_person = [a for a in same_person if a.emergency_contact_id == attempt.emergency_contact_id]
        week = [a for a in same_person if a.at > attempt.at - timedelta(days=7)]
        assert len(week) < 7, f"8th call in 7 days at {attempt.at}"
        if to_borrower:
            talks = [a for a in week if a.outcome in TALKS]
            assert not talks, f"call within 7 days of a conversation at {attempt.at}"


@pytest.mark.parametrize("preset", ["cn", "us"])
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(script=steps)
def test_no_allowed_contact_ever_breaks_a_rule(db: None, preset: str, script: list[Step]) -> None:
    try:
        with transaction.atomic():
            world = build_world(preset)
            # 08:30 on the borrower's clock, the start of a contact day.
            at = datetime(2026, 11, 16, 8, 30, tzinfo=ZONES[preset])
            for step in script:
                at += timedelta(minutes=step.gap_minutes)
                for _ in range(step.repeat):
                    at += timedelta(minutes=2)
                    play(world, step, at)
            allowed = list(ContactAttempt.objects.filter(allowed=True).order_by("at", "id"))
            check_history(allowed, preset, ZONES[preset])
            blocked = ContactAttempt.objects.filter(allowed=False)
            assert all(a.rule and a.outcome == "blocked" for a in blocked)
            for rule in sorted({a.rule for a in blocked}):
                event(f"blocked by {rule}")
            raise Rollback
    except Rollback:
        pass
