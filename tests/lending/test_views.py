"""The web desk's lending pages: loan search and the loan page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from riskdesk import nightly
from riskdesk.core import masking, roles
from riskdesk.lending import selectors, services
from riskdesk.lending.models import Loan
from tests.collections.test_api_permissions import open_case
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue_loan(make_loan: Callable[..., Loan]) -> Loan:
    """Disbursed 2026-09-15, nothing paid: 38 days past due on 2026-11-22, its line frozen."""
    loan = make_loan(principal="6000.00", term=6, disbursed_on=date(2026, 9, 15))
    nightly.close_days(as_of=date(2026, 11, 22))
    loan.refresh_from_db()
    return loan


@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_loan_search_is_open_to_every_role(users: dict[str, User], make_loan: Callable[..., Loan], role: str) -> None:
    make_loan()
    response = client_for(users[role]).get(reverse("loan_search"))
    assert response.status_code == 200


def test_search_finds_a_loan_by_its_id(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    wanted, other = make_loan(), make_loan(principal="3000.00")
    response = client_for(users["risk_officer"]).get(reverse("loan_search"), {"q": str(wanted.pk)})
    assert [loan.pk for loan in response.context["page"]] == [wanted.pk]
    assert reverse("loan_detail", args=[other.pk]) not in response.content.decode()


def test_search_finds_loans_by_exact_national_id(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    client = client_for(users["risk_officer"])
    found = client.get(reverse("loan_search"), {"q": loan.borrower.national_id})
    partial = client.get(reverse("loan_search"), {"q": loan.borrower.national_id[:10]})
    assert [row.pk for row in found.context["page"]] == [loan.pk]
    assert list(partial.context["page"]) == []


def test_search_filters_overdue_loans(
    users: dict[str, User], overdue_loan: Loan, make_loan: Callable[..., Loan]
) -> None:
    client = client_for(users["risk_officer"])
    overdue = client.get(reverse("loan_search"), {"delinquency": "overdue"})
    current = client.get(reverse("loan_search"), {"delinquency": "current"})
    assert [loan.pk for loan in overdue.context["page"]] == [overdue_loan.pk]
    assert overdue_loan.pk not in [loan.pk for loan in current.context["page"]]


def test_search_filters_by_bucket(users: dict[str, User], overdue_loan: Loan) -> None:
    assert overdue_loan.bucket == "M2"
    client = client_for(users["risk_officer"])
    assert len(client.get(reverse("loan_search"), {"bucket": "M2"}).context["page"]) == 1
    assert len(client.get(reverse("loan_search"), {"bucket": "M1"}).context["page"]) == 0


def test_search_runs_a_fixed_number_of_queries(
    users: dict[str, User], make_loan: Callable[..., Loan], django_assert_max_num_queries: Callable
) -> None:
    for _ in range(8):
        make_loan(principal="1000.00")
    client = client_for(users["admin"])
    with django_assert_max_num_queries(12):
        response = client.get(reverse("loan_search"))
    assert len(response.context["page"]) == 8


def test_collector_sees_their_cases_loan_with_a_masked_national_id(
    users: dict[str, User], make_loan: Callable[..., Loan]
) -> None:
    loan = make_loan()
    open_case(loan.borrower, loan, assigned_to=users["collector"])
    national_id = loan.borrower.national_id
    body = client_for(users["collector"]).get(reverse("loan_detail", args=[loan.pk])).content.decode()
    assert national_id not in body
    assert masking.mask_national_id(national_id) in body


def test_admin_sees_the_national_id_masked_and_a_reveal(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    """The admin read it whole, unaudited (fixed: the reveal shows it and audits it)."""
    loan = make_loan()
    body = client_for(users["admin"]).get(reverse("loan_detail", args=[loan.pk])).content.decode()
    assert loan.borrower.national_id not in body
    assert masking.mask_national_id(loan.borrower.national_id) in body
    assert f'data-url="{reverse("loan_reveal", args=[loan.pk])}" data-field="national_id"' in body


def test_loan_page_explains_the_days_past_due(users: dict[str, User], overdue_loan: Loan) -> None:
    explanation = selectors.explain_delinquency(overdue_loan)
    assert overdue_loan.dpd == 38
    response = client_for(users["risk_officer"]).get(reverse("loan_detail", args=[overdue_loan.pk]))
    assert response.status_code == 200
    assert explanation.headline in response.content.decode()


def test_loan_page_says_why_the_line_is_frozen(users: dict[str, User], overdue_loan: Loan) -> None:
    line = overdue_loan.credit_line
    line.refresh_from_db()
    assert line.status == "frozen"
    body = client_for(users["risk_officer"]).get(reverse("loan_detail", args=[overdue_loan.pk])).content.decode()
    assert services.frozen_message(line) in body


def test_loan_page_quotes_a_payoff_for_the_chosen_date(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    loan = make_loan(principal="6000.00", term=6, disbursed_on=date(2026, 11, 1))
    response = client_for(users["risk_officer"]).get(reverse("loan_detail", args=[loan.pk]), {"quote_on": "2026-11-21"})
    quote = response.context["quote"]
    assert quote == selectors.payoff_quote(loan, date(2026, 11, 21))
    assert quote["total"] == Decimal("6000.00") + quote["interest"]


def test_loan_page_refuses_a_malformed_quote_date(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    response = client_for(users["risk_officer"]).get(reverse("loan_detail", args=[loan.pk]), {"quote_on": "tomorrow"})
    assert response.status_code == 200
    assert response.context["quote"] is None


def test_loan_page_strikes_through_a_reversed_payment(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    loan = make_loan(principal="6000.00", term=6, disbursed_on=date(2026, 9, 15))
    payment, _ = services.payment_post(
        loan=loan,
        amount=Decimal("500.00"),
        value_date=date(2026, 10, 15),
        kind="regular",
        channel="autodebit",
        idempotency_key="web-reverse-1",
    )
    services.payment_reverse(payment=payment, reason="bounced")
    body = client_for(users["risk_officer"]).get(reverse("loan_detail", args=[loan.pk])).content.decode()
    assert 'class="payment reversed"' in body
    assert "bounced" in body


def test_unknown_loan_is_404(users: dict[str, User], db: None) -> None:
    assert client_for(users["risk_officer"]).get(reverse("loan_detail", args=[999999])).status_code == 404
