"""Late-stage case actions: agency placement and recall, legal escalation, write-off review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from riskdesk.collections import cases
from riskdesk.collections.models import Agency, AgencyPlacement, Case, ContactPolicy, Queue, Stage
from riskdesk.core import roles
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.models import AuditLog
from riskdesk.lending.models import Borrower, Loan
from tests.conftest import TODAY

D = Decimal
pytestmark = pytest.mark.django_db


def make_case(stage: Stage = Stage.LATE, write_off_review: str = "") -> Case:
    borrower = Borrower.objects.create(name="王五", national_id="110101198001010011")
    return Case.objects.create(
        borrower=borrower,
        stage=stage,
        worst_bucket="M4",
        max_dpd=100,
        overdue_amount=D("8000.00"),
        queue=Queue.objects.get(code=stage),
        opened_on=date(2026, 8, 1),
        updated_on=date(2026, 11, 1),
        write_off_review=write_off_review,
    )


@pytest.fixture
def supervisor(users: dict[str, User]) -> User:
    return users[roles.SUPERVISOR]


@pytest.fixture
def agency(db: None) -> Agency:
    return Agency.objects.create(name="Acme Recovery", reviewed_on=date(2026, 1, 10))


def notified() -> datetime:
    return timezone.now() - timedelta(days=10)


def place(case: Case, agency: Agency, actor: User, **kwargs: object) -> AgencyPlacement:
    kwargs.setdefault("borrower_notified_at", notified())
    return cases.case_place_with_agency(case=case, agency=agency, actor=actor, reason="no contact in 60 days", **kwargs)  # type: ignore[arg-type]


# -- agency placement -------------------------------------------------------------------------


def test_placing_a_late_case_records_the_placement_and_sets_the_agency(agency: Agency, supervisor: User) -> None:
    case = make_case()
    placement = place(case, agency, supervisor)
    case.refresh_from_db()
    assert (placement.placed_on, placement.recalled_on, case.agency) == (TODAY, None, agency)
    row = AuditLog.objects.get(action="case.place_with_agency", entity_id=str(case.pk))
    assert (row.actor, row.before, row.after["agency"], row.reason) == (
        supervisor,
        {"agency": None},
        agency.pk,
        "no contact in 60 days",
    )


def test_a_write_off_review_case_may_be_placed(agency: Agency, supervisor: User) -> None:
    assert place(make_case(Stage.WRITE_OFF_REVIEW), agency, supervisor).agency == agency


@pytest.mark.parametrize("stage", [Stage.EARLY, Stage.MID])
def test_an_early_or_mid_case_cannot_be_placed(agency: Agency, supervisor: User, stage: Stage) -> None:
    with pytest.raises(DomainError) as refused:
        place(make_case(stage), agency, supervisor)
    assert refused.value.code == "stage_not_late"


def test_the_borrower_must_be_notified_before_the_placement(agency: Agency, supervisor: User) -> None:
    with pytest.raises(DomainError) as refused:
        place(make_case(), agency, supervisor, borrower_notified_at=timezone.now() + timedelta(minutes=1))
    assert (refused.value.code, refused.value.field) == ("borrower_not_notified", "borrower_notified_at")
    assert not AgencyPlacement.objects.exists()


def test_an_agency_not_reviewed_within_twelve_months_is_refused(agency: Agency, supervisor: User) -> None:
    # TODAY is 2026-11-23: a review on 2025-11-23 is the oldest still inside twelve months.
    Agency.objects.filter(pk=agency.pk).update(reviewed_on=date(2025, 11, 22))
    agency.refresh_from_db()
    with pytest.raises(DomainError, match="within 12 months") as refused:
        place(make_case(), agency, supervisor)
    assert refused.value.code == "agency_review_overdue"


def test_a_review_exactly_twelve_months_ago_is_still_in_time(agency: Agency, supervisor: User) -> None:
    Agency.objects.filter(pk=agency.pk).update(reviewed_on=date(2025, 11, 23))
    agency.refresh_from_db()
    assert place(make_case(), agency, supervisor).agency == agency


def test_the_contact_policy_sets_the_review_period(agency: Agency, supervisor: User) -> None:
    ContactPolicy.objects.all().delete()
    ContactPolicy.objects.create(version=99, effective_from=timezone.now() - timedelta(days=1), agency_review_months=6)
    Agency.objects.filter(pk=agency.pk).update(reviewed_on=date(2026, 5, 22))
    agency.refresh_from_db()
    with pytest.raises(DomainError, match="within 6 months"):
        place(make_case(), agency, supervisor)


def test_an_inactive_agency_is_refused(agency: Agency, supervisor: User) -> None:
    Agency.objects.filter(pk=agency.pk).update(active=False)
    agency.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        place(make_case(), agency, supervisor)
    assert refused.value.code == "agency_inactive"


def test_a_case_is_placed_with_one_agency_at_a_time(agency: Agency, supervisor: User) -> None:
    case = make_case()
    place(case, agency, supervisor)
    other = Agency.objects.create(name="Other", reviewed_on=date(2026, 6, 1))
    with pytest.raises(Conflict) as refused:
        place(case, other, supervisor)
    assert refused.value.code == "case_already_placed"


def test_recall_ends_the_placement(agency: Agency, supervisor: User) -> None:
    case = make_case()
    placement = place(case, agency, supervisor)
    cases.case_recall_from_agency(case=case, actor=supervisor, reason="complaint about the agency")
    case.refresh_from_db()
    placement.refresh_from_db()
    assert (case.agency, placement.recalled_on) == (None, TODAY)
    row = AuditLog.objects.get(action="case.recall_from_agency")
    assert (row.before, row.after, row.reason) == (
        {"agency": agency.pk},
        {"agency": None},
        "complaint about the agency",
    )


def test_a_recalled_case_may_be_placed_again(agency: Agency, supervisor: User) -> None:
    case = make_case()
    place(case, agency, supervisor)
    cases.case_recall_from_agency(case=case, actor=supervisor, reason="review")
    place(case, agency, supervisor)
    assert AgencyPlacement.objects.filter(case=case).count() == 2


def test_recalling_a_case_not_placed_is_refused(supervisor: User) -> None:
    with pytest.raises(DomainError) as refused:
        cases.case_recall_from_agency(case=make_case(), actor=supervisor, reason="review")
    assert refused.value.code == "case_not_placed"


def test_recall_needs_a_reason(agency: Agency, supervisor: User) -> None:
    case = make_case()
    place(case, agency, supervisor)
    with pytest.raises(DomainError) as refused:
        cases.case_recall_from_agency(case=case, actor=supervisor, reason="  ")
    assert (refused.value.code, refused.value.field) == ("reason_required", "reason")


# -- legal escalation ----------------------------------------------------------------------------


def test_escalating_a_late_case_to_legal_records_the_day(supervisor: User) -> None:
    case = cases.case_escalate_legal(case=make_case(), actor=supervisor, reason="no payment in 120 days")
    assert case.legal_escalated_on == TODAY
    row = AuditLog.objects.get(action="case.escalate_legal", entity_id=str(case.pk))
    assert (row.after, row.reason) == ({"legal_escalated_on": "2026-11-23"}, "no payment in 120 days")


def test_a_mid_case_cannot_go_to_legal(supervisor: User) -> None:
    with pytest.raises(DomainError) as refused:
        cases.case_escalate_legal(case=make_case(Stage.MID), actor=supervisor, reason="no payment")
    assert refused.value.code == "stage_not_late"


def test_a_case_goes_to_legal_once(supervisor: User) -> None:
    case = cases.case_escalate_legal(case=make_case(), actor=supervisor, reason="no payment")
    with pytest.raises(Conflict) as refused:
        cases.case_escalate_legal(case=case, actor=supervisor, reason="again")
    assert refused.value.code == "already_escalated"


def test_a_closed_case_cannot_go_to_legal(supervisor: User) -> None:
    case = make_case()
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    with pytest.raises(DomainError) as refused:
        cases.case_escalate_legal(case=case, actor=supervisor, reason="no payment")
    assert refused.value.code == "case_closed"


# -- write-off review ------------------------------------------------------------------------------


@pytest.mark.parametrize(("approve", "decision"), [(True, "approved"), (False, "rejected")])
def test_a_pending_write_off_review_is_decided(supervisor: User, approve: bool, decision: str) -> None:
    case = make_case(Stage.WRITE_OFF_REVIEW, write_off_review="pending")
    case = cases.case_write_off_review_decide(case=case, approve=approve, actor=supervisor, reason="committee")
    assert case.write_off_review == decision
    row = AuditLog.objects.get(action="case.write_off_review_decide")
    assert (row.before, row.after) == ({"write_off_review": "pending"}, {"write_off_review": decision})


def test_only_a_pending_review_can_be_decided(supervisor: User) -> None:
    case = make_case(Stage.WRITE_OFF_REVIEW, write_off_review="approved")
    with pytest.raises(Conflict) as refused:
        cases.case_write_off_review_decide(case=case, approve=False, actor=supervisor, reason="second thoughts")
    assert refused.value.code == "write_off_review_not_pending"


def test_a_decided_review_is_not_put_up_again_by_close_of_day(
    supervisor: User, make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    loan = make_loan()
    Loan.objects.filter(pk=loan.pk).update(
        dpd=200, bucket="M7+", overdue_amount=D("9000.00"), grace_end=date(2026, 3, 3), in_grace=False
    )
    cases.cases_refresh(date(2026, 9, 15))
    case = Case.objects.get(borrower=borrower)
    cases.case_write_off_review_decide(case=case, approve=False, actor=supervisor, reason="keep collecting")
    Loan.objects.filter(pk=loan.pk).update(dpd=201)
    cases.cases_refresh(date(2026, 9, 16))
    case.refresh_from_db()
    assert (case.stage, case.write_off_review) == ("write_off_review", "rejected")


def test_a_pending_review_is_withdrawn_when_the_case_drops_below_write_off(
    make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    loan = make_loan()
    Loan.objects.filter(pk=loan.pk).update(
        dpd=181, bucket="M7+", overdue_amount=D("9000.00"), grace_end=date(2026, 3, 3), in_grace=False
    )
    cases.cases_refresh(date(2026, 9, 15))
    Loan.objects.filter(pk=loan.pk).update(dpd=150, bucket="M5", overdue_amount=D("4000.00"))
    cases.cases_refresh(date(2026, 9, 16))
    case = Case.objects.get(borrower=borrower)
    assert (case.stage, case.write_off_review) == ("late", "")
