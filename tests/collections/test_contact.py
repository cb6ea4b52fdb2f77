"""Contact services: attempts and their effects, policy versions, the borrower's limits."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from riskdesk.collections import contact
from riskdesk.collections.gate import Decision, contact_check
from riskdesk.collections.models import Case, ContactAttempt, ContactPolicy, ContactRestriction
from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog
from riskdesk.lending.models import Borrower
from tests.collections.test_compliance import SHANGHAI, call, local, make_case, make_policy, phone_of


@pytest.fixture
def case(borrower: Borrower) -> Case:
    make_policy("cn")
    return make_case(borrower)


def test_a_right_party_contact_marks_the_point_reached_and_audits(case: Case, users: dict[str, User]) -> None:
    attempt = call(case, local(SHANGHAI, 23, 10), "promise_to_pay", actor=users["collector"])

    assert phone_of(case.borrower).last_success_at == local(SHANGHAI, 23, 10)
    assert (attempt.allowed, attempt.outcome, attempt.policy.preset) == (True, "promise_to_pay", "cn")
    audit = AuditLog.objects.get(action="contact.attempt", entity_id=str(attempt.pk))
    assert (audit.actor, audit.after["outcome"]) == (users["collector"], "promise_to_pay")


def test_a_disconnected_number_is_marked_with_an_audit_row(case: Case) -> None:
    call(case, local(SHANGHAI, 23, 10), "disconnected")

    point = phone_of(case.borrower)
    assert point.status == "disconnected"
    audit = AuditLog.objects.get(action="contact_point.mark", entity_id=str(point.pk))
    assert (audit.before, audit.after) == ({"status": "active"}, {"status": "disconnected"})


def test_a_dispute_outcome_opens_a_dispute(case: Case) -> None:
    call(case, local(SHANGHAI, 23, 10), "dispute", note="says the loan was repaid")

    dispute = case.borrower.disputes.get()
    assert (dispute.case, dispute.opened_at, dispute.note) == (
        case,
        local(SHANGHAI, 23, 10),
        "says the loan was repaid",
    )


def test_a_cease_request_records_a_cease_restriction(case: Case) -> None:
    call(case, local(SHANGHAI, 23, 10), "cease_request")

    restriction = case.borrower.contact_restrictions.get()
    assert (restriction.kind, restriction.starts_at, restriction.ends_at) == ("cease", local(SHANGHAI, 23, 10), None)


@pytest.mark.parametrize(("channel", "outcome"), [("call", "sent"), ("sms", "promise_to_pay"), ("call", "blocked")])
def test_an_outcome_the_channel_cannot_have_is_refused(case: Case, channel: str, outcome: str) -> None:
    with pytest.raises(DomainError) as refused:
        contact.contact_attempt_log(
            case=case,
            channel=channel,
            at=local(SHANGHAI, 23, 10),
            outcome=outcome,
            actor=None,
            source="collector",
            contact_point=phone_of(case.borrower),
        )

    assert (refused.value.code, refused.value.field) == ("invalid_outcome", "outcome")
    assert not ContactAttempt.objects.exists()


def test_recording_a_blocked_decision_does_not_raise(case: Case) -> None:
    at = local(SHANGHAI, 23, 23)
    decision = contact_check(
        case=case, borrower=case.borrower, channel="call", at=at, contact_point=phone_of(case.borrower)
    )

    attempt = contact.contact_attempt_record_decision(
        decision=decision,
        case=case,
        borrower=case.borrower,
        channel="call",
        at=at,
        outcome="no_answer",
        source="reminder",
        contact_point=phone_of(case.borrower),
    )

    assert (attempt.allowed, attempt.outcome, attempt.rule) == (False, "blocked", "quiet_hours")
    assert attempt.next_allowed_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert AuditLog.objects.filter(action="contact.blocked", entity_id=str(attempt.pk)).exists()


def test_recording_an_allowed_decision_applies_the_outcome(case: Case) -> None:
    decision = Decision(allowed=True, results={"quiet_hours": "ok"}, policy=ContactPolicy.objects.first())

    contact.contact_attempt_record_decision(
        decision=decision,
        case=case,
        borrower=case.borrower,
        channel="sms",
        at=local(SHANGHAI, 23, 10),
        outcome="delivered",
        source="reminder",
        contact_point=phone_of(case.borrower),
    )

    assert phone_of(case.borrower).last_success_at == local(SHANGHAI, 23, 10)


# -- policy versions ------------------------------------------------------------------------------


def test_a_new_policy_version_starts_from_its_preset_with_overrides(users: dict[str, User]) -> None:
    top = ContactPolicy.objects.order_by("-version").values_list("version", flat=True).first() or 0
    start = timezone.now() + timedelta(days=1)

    policy = contact.contact_policy_create(
        preset="us", effective_from=start, actor=users["admin"], max_calls_per_7_days=5, note="tighter cap"
    )

    assert (policy.version, policy.preset, policy.max_calls_per_7_days) == (top + 1, "us", 5)
    assert (policy.quiet_start, policy.conversation_cooldown_days, policy.field_visits_allowed) == (time(21), 7, False)
    audit = AuditLog.objects.get(action="contact_policy.create", entity_id=str(policy.pk))
    assert (audit.after["max_calls_per_7_days"], audit.after["pause_on_attorney"]) == (5, True)
    assert contact.contact_policy_in_force(start) == policy
    assert contact.contact_policy_in_force(start - timedelta(seconds=1)) != policy


def test_a_policy_version_cannot_start_in_the_past(users: dict[str, User]) -> None:
    with pytest.raises(DomainError) as refused:
        contact.contact_policy_create(
            preset="cn", effective_from=timezone.now() - timedelta(hours=1), actor=users["admin"]
        )

    assert (refused.value.code, refused.value.field) == ("policy_in_past", "effective_from")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quiet_start": time(21), "quiet_end": time(21)}, "quiet_end"),
        ({"field_visit_min_staff": 1}, "field_visit_min_staff"),
        ({"max_unanswered_dials_per_number_per_day": -1}, "max_unanswered_dials_per_number_per_day"),
        ({"version": 99}, "version"),
    ],
)
def test_a_policy_version_with_invalid_rules_is_refused(
    users: dict[str, User], overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        contact.contact_policy_create(
            preset="cn", effective_from=timezone.now() + timedelta(days=1), actor=users["admin"], **overrides
        )

    assert refused.value.field == field


def test_the_default_policy_is_the_china_preset(db: None) -> None:
    policy = ContactPolicy.objects.filter(version=1).first()
    if policy is None:
        pytest.skip("a transactional test flushed the migration's rows")

    assert (policy.preset, policy.effective_from) == ("cn", datetime(2000, 1, 1, tzinfo=UTC))
    assert {name: getattr(policy, name) for name in contact.PRESETS["cn"]} == contact.PRESETS["cn"]


# -- the borrower's limits ---------------------------------------------------------------------------


def test_an_opt_out_needs_its_channel(borrower: Borrower) -> None:
    with pytest.raises(DomainError) as refused:
        contact.contact_restriction_add(borrower=borrower, kind="opt_out", actor=None)

    assert refused.value.field == "channel"


def test_lifting_a_restriction_keeps_its_history_and_audits(borrower: Borrower, users: dict[str, User]) -> None:
    restriction = contact.contact_restriction_add(
        borrower=borrower, kind="opt_out", channel="sms", actor=users["collector"], reason="asked by SMS reply"
    )

    contact.contact_restriction_lift(restriction=restriction, actor=users["collections_supervisor"])

    assert ContactRestriction.objects.get().lifted_at is not None
    assert list(
        AuditLog.objects.filter(entity_id=str(restriction.pk)).values_list("action", flat=True).order_by("id")
    ) == [
        "contact_restriction.add",
        "contact_restriction.lift",
    ]


def test_a_quiet_hours_consent_needs_evidence(borrower: Borrower) -> None:
    with pytest.raises(DomainError) as refused:
        contact.quiet_hours_consent_record(
            borrower=borrower,
            starts_at=local(SHANGHAI, 23, 21),
            ends_at=local(SHANGHAI, 23, 23),
            evidence=" ",
            actor=None,
        )

    assert refused.value.field == "evidence"
