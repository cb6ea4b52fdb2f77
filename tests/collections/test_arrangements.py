"""Hardship arrangements: request, four-eyes approval through lending, pause, broken and completed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from riskdesk.collections import arrangements
from riskdesk.collections.gate import contact_check
from riskdesk.collections.models import Arrangement, Case
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.models import AuditLog
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, Loan
from tests.collections.test_compliance import SHANGHAI, local, make_case, phone_of

D = Decimal
APR10 = date(2026, 4, 10)
pytestmark = pytest.mark.django_db


@pytest.fixture
def loan(make_loan: Callable[..., Loan], settings: pytest.FixtureRequest) -> Loan:
    """12000.00 over 12 months from Jan 31, nothing paid; today is Apr 10."""
    settings.BUSINESS_DATE_OVERRIDE = APR10.isoformat()
    return make_loan()


@pytest.fixture
def case(borrower: Borrower, loan: Loan) -> Case:
    case = make_case(borrower, worst_bucket="M2", max_dpd=41, overdue_amount=D("2212.12"), stage="mid")
    case.loans.add(loan)
    return case


def request(case: Case, loan: Loan, actor: User, kind: str = "reinstallment", months: int | None = 6) -> Arrangement:
    return arrangements.arrangement_request(
        case=case, loan=loan, kind=kind, months=months, reason="lost job", actor=actor
    )


def approved(case: Case, loan: Loan, users: dict[str, User], kind: str = "reinstallment", months: int | None = 6):
    arrangement = request(case, loan, users["collector"], kind, months)
    return arrangements.arrangement_approve(arrangement=arrangement, actor=users["collections_supervisor"], note="ok")


def a_call(case: Case):
    return contact_check(
        case=case,
        borrower=case.borrower,
        channel="call",
        at=local(SHANGHAI, 23, 10),
        contact_point=phone_of(case.borrower),
    )


# -- request -------------------------------------------------------------------------------


def test_a_collector_requests_an_arrangement_with_an_audit_row(case: Case, loan: Loan, users: dict[str, User]) -> None:
    arrangement = request(case, loan, users["collector"])

    assert (arrangement.status, arrangement.kind, arrangement.months) == ("requested", "reinstallment", 6)
    audit = AuditLog.objects.get(action="arrangement.request", entity_id=str(arrangement.pk))
    assert audit.actor == users["collector"]
    assert audit.after == {"case": case.pk, "loan": loan.pk, "kind": "reinstallment", "months": 6}


def test_a_second_live_arrangement_on_the_same_loan_is_a_conflict(
    case: Case, loan: Loan, users: dict[str, User]
) -> None:
    request(case, loan, users["collector"])
    with pytest.raises(Conflict) as refused:
        request(case, loan, users["collector"], kind="penalty_waiver", months=None)
    assert (refused.value.code, refused.value.status) == ("arrangement_exists", 409)


def test_a_loan_outside_the_case_is_refused(case: Case, make_loan: Callable[..., Loan], users: dict[str, User]) -> None:
    other = make_loan(principal="3000.00", term=3)
    with pytest.raises(DomainError) as refused:
        request(case, other, users["collector"])
    assert (refused.value.code, refused.value.field) == ("loan_not_in_case", "loan")


@pytest.mark.parametrize(
    ("kind", "months"), [("reinstallment", None), ("extension", 0), ("extension", 37), ("penalty_waiver", 2)]
)
def test_months_are_checked_per_kind(
    case: Case, loan: Loan, users: dict[str, User], kind: str, months: int | None
) -> None:
    with pytest.raises(DomainError) as refused:
        request(case, loan, users["collector"], kind, months)
    assert (refused.value.code, refused.value.field) == ("invalid_months", "months")


def test_a_risk_officer_may_not_request_an_arrangement(case: Case, loan: Loan, users: dict[str, User]) -> None:
    with pytest.raises(DomainError) as refused:
        request(case, loan, users["risk_officer"])
    assert (refused.value.code, refused.value.status) == ("not_permitted", 403)


def test_a_closed_case_takes_no_arrangement(case: Case, loan: Loan, users: dict[str, User]) -> None:
    Case.objects.filter(pk=case.pk).update(status="closed", closed_on=APR10)
    case.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        request(case, loan, users["collector"])
    assert refused.value.code == "case_closed"


# -- decision ------------------------------------------------------------------------------


def test_approval_carries_the_arrangement_out_on_the_loan_from_today(
    case: Case, loan: Loan, users: dict[str, User]
) -> None:
    arrangement = approved(case, loan, users)

    arrangement.refresh_from_db()
    assert (arrangement.status, arrangement.decided_by, arrangement.decision_note) == (
        "active",
        users["collections_supervisor"],
        "ok",
    )
    executed = arrangement.lending_arrangement
    assert (executed.kind, executed.effective_on, executed.months) == ("reinstallment", APR10, 6)
    new = list(executed.installments.order_by("seq"))
    assert [i.seq for i in new] == [13, 14, 15, 16, 17, 18]
    assert sum(i.principal_due for i in new) == D("12000.00")
    loan.refresh_from_db()
    assert loan.next_due_date == date(2026, 5, 10)
    assert AuditLog.objects.filter(action="arrangement.approve", entity_id=str(arrangement.pk)).exists()
    assert AuditLog.objects.filter(action="loan.arrangement.reinstallment").exists()


def test_a_collector_may_not_approve(case: Case, loan: Loan, users: dict[str, User]) -> None:
    arrangement = request(case, loan, users["collector"])
    with pytest.raises(DomainError) as refused:
        arrangements.arrangement_approve(arrangement=arrangement, actor=users["collector"])
    assert (refused.value.code, refused.value.status) == ("not_permitted", 403)
    assert not loan.arrangements.exists()


def test_a_supervisor_may_not_approve_their_own_request(case: Case, loan: Loan, users: dict[str, User]) -> None:
    arrangement = request(case, loan, users["collections_supervisor"])
    with pytest.raises(DomainError) as refused:
        arrangements.arrangement_approve(arrangement=arrangement, actor=users["collections_supervisor"])
    assert refused.value.code == "own_request"


def test_a_rejection_needs_a_note_and_is_final(case: Case, loan: Loan, users: dict[str, User]) -> None:
    arrangement = request(case, loan, users["collector"])
    with pytest.raises(DomainError):
        arrangements.arrangement_reject(arrangement=arrangement, actor=users["admin"], note=" ")
    rejected = arrangements.arrangement_reject(arrangement=arrangement, actor=users["admin"], note="income too low")

    assert (rejected.status, rejected.decision_note, rejected.lending_arrangement) == (
        "rejected",
        "income too low",
        None,
    )
    with pytest.raises(Conflict) as again:
        arrangements.arrangement_approve(arrangement=arrangement, actor=users["collections_supervisor"])
    assert again.value.code == "already_decided"
    # A rejected request no longer blocks a new one.
    assert request(case, loan, users["collector"]).status == "requested"


def test_an_approved_waiver_forgives_the_penalty_and_is_complete_at_once(
    case: Case, loan: Loan, users: dict[str, User]
) -> None:
    arrangement = approved(case, loan, users, kind="penalty_waiver", months=None)

    assert arrangement.status == "completed"
    loan.refresh_from_db()
    assert loan.penalty_accrued == D("0.00")
    assert loan.installments.get(seq=1).penalty_waived == D("25.98")
    assert a_call(case).allowed


# -- in force: the pause, broken, completed ------------------------------------------------


def test_an_arrangement_in_force_pauses_collection_contact(case: Case, loan: Loan, users: dict[str, User]) -> None:
    assert a_call(case).allowed
    approved(case, loan, users)

    decision = a_call(case)
    assert (decision.allowed, decision.rule) == (False, "arrangement_pause")


def test_a_missed_new_installment_breaks_the_arrangement_and_contact_resumes(
    case: Case, loan: Loan, users: dict[str, User]
) -> None:
    arrangement = approved(case, loan, users)
    # First new installment due May 10, grace end May 13: still kept on the 13th, broken on the 14th.
    assert arrangements.arrangements_review(date(2026, 5, 13)) == {
        "arrangements_broken": 0,
        "arrangements_completed": 0,
    }
    assert arrangements.arrangements_review(date(2026, 5, 14)) == {
        "arrangements_broken": 1,
        "arrangements_completed": 0,
    }

    arrangement.refresh_from_db()
    assert (arrangement.status, arrangement.broken_on) == ("broken", date(2026, 5, 14))
    audit = AuditLog.objects.get(action="arrangement.broken", entity_id=str(arrangement.pk))
    assert audit.after == {"status": "broken", "on": "2026-05-14", "loan": loan.pk}
    assert a_call(case).allowed


def test_a_new_installment_paid_within_tolerance_keeps_the_arrangement(
    case: Case, loan: Loan, users: dict[str, User], settings: pytest.FixtureRequest
) -> None:
    arrangement = approved(case, loan, users)
    settings.BUSINESS_DATE_OVERRIDE = "2026-05-10"
    # The frozen penalty 32.30 comes first, then 513.07 + 1933.56 due; 1.00 short is inside the tolerance.
    services.payment_post(
        loan=loan, amount=D("2477.93"), value_date=date(2026, 5, 10), kind="regular", channel="app", idempotency_key="k"
    )

    assert arrangements.arrangements_review(date(2026, 5, 20))["arrangements_broken"] == 0
    arrangement.refresh_from_db()
    assert arrangement.status == "active"


def test_an_arrangement_whose_new_schedule_is_paid_is_completed(
    case: Case, loan: Loan, users: dict[str, User], settings: pytest.FixtureRequest
) -> None:
    arrangement = approved(case, loan, users, months=1)
    settings.BUSINESS_DATE_OVERRIDE = "2026-05-10"
    # Frozen penalty 32.30 + interest 513.07 + principal 12000.00.
    services.payment_post(
        loan=loan,
        amount=D("12545.37"),
        value_date=date(2026, 5, 10),
        kind="regular",
        channel="app",
        idempotency_key="all",
    )

    assert arrangements.arrangements_review(date(2026, 5, 11)) == {
        "arrangements_broken": 0,
        "arrangements_completed": 1,
    }
    arrangement.refresh_from_db()
    assert arrangement.status == "completed"
    assert AuditLog.objects.filter(action="arrangement.completed", entity_id=str(arrangement.pk)).exists()
