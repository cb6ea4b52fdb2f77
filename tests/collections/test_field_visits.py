"""Field visits: a late case, two staff, a supervisor's approval, the gate at planning and on the day."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from riskdesk.collections import fieldvisits
from riskdesk.collections.contact import ContactBlocked
from riskdesk.collections.models import Case, ContactAttempt, FieldVisit
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.models import AuditLog
from riskdesk.lending.models import Borrower
from tests.collections.test_compliance import SHANGHAI, make_case

pytestmark = pytest.mark.django_db


def shanghai_in_days(days: int, hour: int, minute: int = 0) -> datetime:
    """A time `days` from now at `hour`:`minute` in Shanghai (the borrower's zone)."""
    day = timezone.now().astimezone(SHANGHAI).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def case(borrower: Borrower) -> Case:
    return make_case(borrower, stage="late", worst_bucket="M4", max_dpd=120, overdue_amount=Decimal("6200.00"))


@pytest.fixture
def staff(users: dict[str, User]) -> list[User]:
    return [users["collector"], User.objects.create_user(username="second_collector")]


def request(case: Case, users: dict[str, User], staff: list[User], planned_at: datetime | None = None) -> FieldVisit:
    return fieldvisits.field_visit_request(
        case=case,
        planned_at=planned_at or shanghai_in_days(2, 10),
        address="北京市朝阳区建国路 1 号",
        reason="unreachable by phone for 30 days",
        staff=staff,
        actor=users["collector"],
    )


def approved(case: Case, users: dict[str, User], staff: list[User], planned_at: datetime | None = None) -> FieldVisit:
    visit = request(case, users, staff, planned_at)
    return fieldvisits.field_visit_approve(visit=visit, actor=users["collections_supervisor"])


# -- request -------------------------------------------------------------------------------


def test_a_visit_to_a_late_case_is_requested_with_its_staff(
    case: Case, users: dict[str, User], staff: list[User]
) -> None:
    visit = request(case, users, staff)

    assert visit.status == "requested"
    assert set(visit.staff.all()) == set(staff)
    audit = AuditLog.objects.get(action="field_visit.request", entity_id=str(visit.pk))
    assert audit.after["staff"] == sorted(u.pk for u in staff)


def test_one_staff_member_is_not_enough(case: Case, users: dict[str, User], staff: list[User]) -> None:
    with pytest.raises(DomainError) as refused:
        request(case, users, staff[:1])
    assert (refused.value.code, refused.value.field) == ("field_visit_staff", "staff")
    assert refused.value.message == "A field visit needs at least 2 staff (1 named)."


def test_the_same_person_twice_counts_once(case: Case, users: dict[str, User], staff: list[User]) -> None:
    with pytest.raises(DomainError) as refused:
        request(case, users, [staff[0], staff[0]])
    assert refused.value.code == "field_visit_staff"


def test_an_early_case_is_not_visited(borrower: Borrower, users: dict[str, User], staff: list[User]) -> None:
    early = make_case(borrower, stage="early")
    with pytest.raises(DomainError) as refused:
        request(early, users, staff)
    assert refused.value.code == "stage_not_late"


def test_a_visit_is_planned_for_a_time_still_to_come(case: Case, users: dict[str, User], staff: list[User]) -> None:
    with pytest.raises(DomainError) as refused:
        request(case, users, staff, planned_at=timezone.now() - timedelta(minutes=1))
    assert (refused.value.code, refused.value.field) == ("planned_in_past", "planned_at")


def test_a_visit_needs_a_reason(case: Case, users: dict[str, User], staff: list[User]) -> None:
    with pytest.raises(DomainError) as refused:
        fieldvisits.field_visit_request(
            case=case,
            planned_at=shanghai_in_days(2, 10),
            address="x",
            reason=" ",
            staff=staff,
            actor=users["collector"],
        )
    assert refused.value.code == "reason_required"


# -- approval ------------------------------------------------------------------------------


def test_a_supervisor_approves_a_visit_the_gate_allows(case: Case, users: dict[str, User], staff: list[User]) -> None:
    visit = approved(case, users, staff)

    visit.refresh_from_db()
    assert (visit.status, visit.decided_by) == ("approved", users["collections_supervisor"])
    assert AuditLog.objects.filter(action="field_visit.approve", entity_id=str(visit.pk)).exists()


def test_a_visit_planned_in_quiet_hours_is_not_approved(case: Case, users: dict[str, User], staff: list[User]) -> None:
    visit = request(case, users, staff, planned_at=shanghai_in_days(2, 22, 30))
    with pytest.raises(DomainError) as refused:
        fieldvisits.field_visit_approve(visit=visit, actor=users["collections_supervisor"])

    assert (refused.value.code, refused.value.extra["rule"]) == ("contact_blocked", "quiet_hours")
    visit.refresh_from_db()
    assert visit.status == "requested"


def test_a_case_below_the_visit_threshold_is_not_approved(
    borrower: Borrower, users: dict[str, User], staff: list[User]
) -> None:
    small = make_case(borrower, stage="late", worst_bucket="M4", max_dpd=60, overdue_amount=Decimal("800.00"))
    visit = request(small, users, staff)
    with pytest.raises(DomainError) as refused:
        fieldvisits.field_visit_approve(visit=visit, actor=users["collections_supervisor"])
    assert refused.value.extra["rule"] == "field_visit_threshold"


def test_the_requester_does_not_approve_their_own_visit(case: Case, users: dict[str, User], staff: list[User]) -> None:
    visit = fieldvisits.field_visit_request(
        case=case,
        planned_at=shanghai_in_days(2, 10),
        address="x",
        reason="y",
        staff=staff,
        actor=users["collections_supervisor"],
    )
    with pytest.raises(DomainError) as refused:
        fieldvisits.field_visit_approve(visit=visit, actor=users["collections_supervisor"])
    assert refused.value.code == "own_request"


def test_a_collector_may_not_approve(case: Case, users: dict[str, User], staff: list[User]) -> None:
    visit = request(case, users, staff)
    with pytest.raises(DomainError) as refused:
        fieldvisits.field_visit_approve(visit=visit, actor=users["collector"])
    assert (refused.value.code, refused.value.status) == ("not_permitted", 403)


def test_a_rejected_visit_keeps_the_reason_and_cannot_be_approved(
    case: Case, users: dict[str, User], staff: list[User]
) -> None:
    visit = request(case, users, staff)
    fieldvisits.field_visit_reject(visit=visit, actor=users["admin"], note="try the app first")

    visit.refresh_from_db()
    assert (visit.status, visit.outcome) == ("rejected", "try the app first")
    with pytest.raises(Conflict):
        fieldvisits.field_visit_approve(visit=visit, actor=users["collections_supervisor"])


# -- recording -----------------------------------------------------------------------------


def test_recording_a_visit_logs_a_visit_attempt_through_the_gate(
    case: Case, users: dict[str, User], staff: list[User]
) -> None:
    visit = approved(case, users, staff)
    at = shanghai_in_days(2, 10, 40)
    visit = fieldvisits.field_visit_record(visit=visit, at=at, outcome="met the borrower", actor=users["collector"])

    assert (visit.status, visit.outcome) == ("done", "met the borrower")
    attempt = visit.attempt
    assert (attempt.channel, attempt.source, attempt.outcome, attempt.allowed) == (
        "visit",
        "field_visit",
        "visited",
        True,
    )
    assert (attempt.at, attempt.note, attempt.policy.version) == (at, "met the borrower", 1)


def test_a_visit_made_in_quiet_hours_is_recorded_blocked(case: Case, users: dict[str, User], staff: list[User]) -> None:
    visit = approved(case, users, staff)
    with pytest.raises(ContactBlocked) as blocked:
        fieldvisits.field_visit_record(
            visit=visit, at=shanghai_in_days(2, 7, 30), outcome="went early", actor=users["collector"]
        )

    assert blocked.value.extra["rule"] == "quiet_hours"
    attempt = ContactAttempt.objects.get(pk=blocked.value.extra["attempt_id"])
    assert (attempt.allowed, attempt.outcome, attempt.rule, attempt.source) == (
        False,
        "blocked",
        "quiet_hours",
        "field_visit",
    )
    assert AuditLog.objects.filter(action="contact.blocked", entity_id=str(attempt.pk)).exists()
    visit.refresh_from_db()
    assert (visit.status, visit.attempt) == ("approved", None)


def test_only_an_approved_visit_is_recorded(case: Case, users: dict[str, User], staff: list[User]) -> None:
    visit = request(case, users, staff)
    with pytest.raises(Conflict) as refused:
        fieldvisits.field_visit_record(visit=visit, at=shanghai_in_days(2, 10), outcome="x", actor=users["collector"])
    assert refused.value.code == "visit_not_approved"
    assert not ContactAttempt.objects.exists()
