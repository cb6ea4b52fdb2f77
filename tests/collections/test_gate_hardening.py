"""Ways around the gate that must stay shut: backdating, 'locate' on the borrower, free-text
messages, contact on a closed case, and what closing a case does to its agency and its reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from riskdesk.collections import cases
from riskdesk.collections.contact import ContactBlocked, contact_attempt_log
from riskdesk.collections.models import Agency, AgencyPlacement, Arrangement, Case, ContactAttempt, MessageTemplate
from riskdesk.core.errors import DomainError
from riskdesk.lending.models import Borrower, Loan
from tests.collections.test_compliance import SHANGHAI, call, local, make_case, make_policy, phone_of
from tests.conftest import TODAY, client_for


@pytest.fixture
def case(borrower: Borrower) -> Case:
    make_policy("cn")
    return make_case(borrower)


def test_an_attempt_backdated_before_one_already_logged_is_refused(case: Case) -> None:
    for minute in range(6):
        call(case, local(SHANGHAI, 23, 10, minute))

    with pytest.raises(DomainError) as refused:
        call(case, local(SHANGHAI, 23, 9, 0))  # the 7th dial, hidden before the six

    assert (refused.value.code, refused.value.field) == ("attempt_out_of_order", "at")
    assert ContactAttempt.objects.count() == 6


def test_locate_on_the_borrowers_own_phone_is_paused_by_an_arrangement(
    case: Case, make_loan: Callable[..., Loan]
) -> None:
    requester = User.objects.create_user(username="wang")
    Arrangement.objects.create(
        case=case,
        loan=make_loan(),
        kind="reinstallment",
        months=6,
        reason="hardship",
        status="active",
        requested_by=requester,
    )

    with pytest.raises(ContactBlocked) as blocked:
        call(case, local(SHANGHAI, 23, 10), purpose="locate")

    assert blocked.value.extra["rule"] == "arrangement_pause"


def test_an_sms_without_an_approved_template_is_blocked(case: Case) -> None:
    with pytest.raises(ContactBlocked) as blocked:
        contact_attempt_log(
            case=case,
            channel="sms",
            at=local(SHANGHAI, 23, 10),
            outcome="sent",
            actor=None,
            source="collector",
            contact_point=phone_of(case.borrower),
        )

    assert blocked.value.extra["rule"] == "template_not_approved"
    assert blocked.value.message == "Messages go out only from an approved template: choose one."


def test_an_sms_from_an_approved_template_goes(case: Case) -> None:
    template = MessageTemplate.objects.create(
        code="hello", channel="sms", language="zh-hans", body="{name}，您好。", status="approved"
    )

    attempt = contact_attempt_log(
        case=case,
        channel="sms",
        at=local(SHANGHAI, 23, 10),
        outcome="sent",
        actor=None,
        source="collector",
        contact_point=phone_of(case.borrower),
        template=template,
    )

    assert (attempt.allowed, attempt.template_id) == (True, template.pk)


def test_no_collection_contact_on_a_closed_case(case: Case) -> None:
    Case.objects.filter(pk=case.pk).update(status="closed", closed_on=TODAY, close_reason="cured")
    case.refresh_from_db()

    with pytest.raises(DomainError) as refused:
        call(case, local(SHANGHAI, 23, 10))

    assert (refused.value.code, refused.value.field) == ("case_closed", "purpose")
    assert ContactAttempt.objects.count() == 0


def test_the_api_refuses_an_attempt_logged_more_than_15_minutes_late(case: Case, users: dict[str, User]) -> None:
    Case.objects.filter(pk=case.pk).update(assigned_to=users["collector"])
    late = timezone.now() - timedelta(minutes=16)

    response = client_for(users["collector"]).post(
        f"/api/v1/cases/{case.pk}/contact-attempts/",
        {
            "channel": "call",
            "contact_point": phone_of(case.borrower).pk,
            "outcome": "no_answer",
            "at": late.isoformat(),
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"at": ["Log an attempt as it happens: at most 15 minutes ago."]}


def overdue_case(make_loan: Callable[..., Loan]) -> tuple[Case, Loan]:
    """A loan 30 days past due on 2026-11-22, and the case step 4 opened for it."""
    loan = make_loan(principal="1200.00", term=3, disbursed_on=date(2026, 9, 23))  # first due 2026-10-23
    # Lending's step 1 would have set these; step 4 reads only the loan's fields.
    Loan.objects.filter(pk=loan.pk).update(
        dpd=30, bucket="M1", in_grace=False, grace_end=date(2026, 10, 26), overdue_amount=Decimal("412.00")
    )
    cases.cases_refresh(date(2026, 11, 22))
    return Case.objects.get(borrower=loan.borrower, status="open"), loan


def cure(loan: Loan) -> None:
    Loan.objects.filter(pk=loan.pk).update(dpd=0, bucket="M0", grace_end=None, overdue_amount=Decimal("0.00"))


def test_a_case_cured_by_an_arrangement_closes_with_that_reason(make_loan: Callable[..., Loan]) -> None:
    case, loan = overdue_case(make_loan)
    Arrangement.objects.create(
        case=case,
        loan=loan,
        kind="reinstallment",
        months=6,
        reason="hardship",
        status="active",
        requested_by=User.objects.create_user(username="wang"),
    )
    cure(loan)

    cases.cases_refresh(date(2026, 11, 23))

    case.refresh_from_db()
    assert (case.status, case.close_reason, case.closed_on) == ("closed", "arrangement", date(2026, 11, 23))


def test_closing_a_case_recalls_its_agency_placement(make_loan: Callable[..., Loan]) -> None:
    case, loan = overdue_case(make_loan)
    agency = Agency.objects.create(name="Acme Recovery", reviewed_on=TODAY)
    AgencyPlacement.objects.create(
        case=case, agency=agency, placed_on=TODAY, borrower_notified_at=datetime(2026, 11, 20, tzinfo=SHANGHAI)
    )
    Case.objects.filter(pk=case.pk).update(agency=agency)
    cure(loan)

    cases.cases_refresh(date(2026, 11, 23))

    case.refresh_from_db()
    assert (case.status, case.agency_id) == ("closed", None)
    assert AgencyPlacement.objects.get().recalled_on == date(2026, 11, 23)
