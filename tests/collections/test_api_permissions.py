"""Who may see and do what through the collections API: object-level permissions by role.

A collector sees only the cases assigned to them (another case is a 404, not a 403, so
its existence is not disclosed); an agency user sees only the cases placed with their
agency, masked, and may only log attempts on them; a risk officer reads and never writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from riskdesk.collections.models import Agency, AgencyPlacement, Case, ContactAttempt, Promise
from riskdesk.core import roles
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, ContactPoint, Loan

API = "/api/v1"
TODAY = date(2026, 11, 23)
SHANGHAI = ZoneInfo("Asia/Shanghai")
ClientFor = Callable[[User], APIClient]


@pytest.fixture(autouse=True)
def _attempts_at_chosen_instants(any_attempt_time: None) -> None:
    """These tests log attempts at instants they choose (see tests/conftest.any_attempt_time)."""


@pytest.fixture
def api_client() -> ClientFor:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def open_case(borrower: Borrower, loan: Loan | None = None, **fields: Any) -> Case:
    values = {"stage": "late", "worst_bucket": "M4", "max_dpd": 100, "opened_on": TODAY, "updated_on": TODAY}
    case = Case.objects.create(borrower=borrower, **{**values, **fields})
    if loan is not None:
        case.loans.add(loan)
    return case


@pytest.fixture
def mine(borrower: Borrower, make_loan: Callable[..., Loan], users: dict[str, User]) -> Case:
    return open_case(borrower, make_loan(), assigned_to=users["collector"])


@pytest.fixture
def theirs(db: None) -> Case:
    other = services.borrower_register(
        name="李四", national_id="110101199202022345", phones=[{"number": "13700137000", "label": "mobile"}]
    )
    return open_case(other)


@pytest.fixture
def agency_user(db: None) -> User:
    user = User.objects.create_user(username="agent")
    user.groups.add(Group.objects.get_or_create(name=roles.AGENCY)[0])
    return user


def place(case: Case, user: User) -> Agency:
    agency, _ = Agency.objects.get_or_create(name="Acme Recoveries", defaults={"reviewed_on": date(2026, 6, 1)})
    agency.users.add(user)
    AgencyPlacement.objects.create(
        case=case, agency=agency, borrower_notified_at=timezone.now() - timedelta(days=7), placed_on=TODAY
    )
    Case.objects.filter(pk=case.pk).update(agency=agency)
    return agency


def afternoon_call(case: Case) -> dict[str, Any]:
    """A call yesterday at 15:00 Shanghai time: inside every preset's contact window."""
    yesterday = timezone.now().astimezone(SHANGHAI).date() - timedelta(days=1)
    at = datetime(yesterday.year, yesterday.month, yesterday.day, 15, tzinfo=SHANGHAI)
    point = case.borrower.contact_points.get(kind=ContactPoint.Kind.PHONE)
    return {"channel": "call", "contact_point": point.pk, "outcome": "no_answer", "at": at.isoformat()}


# -- collectors -------------------------------------------------------------------------------


def test_a_collector_lists_only_the_cases_assigned_to_them(
    api_client: ClientFor, users: dict[str, User], mine: Case, theirs: Case
) -> None:
    response = api_client(users["collector"]).get(f"{API}/cases/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_a_collector_gets_404_for_a_case_not_assigned_to_them(
    api_client: ClientFor, users: dict[str, User], theirs: Case
) -> None:
    client = api_client(users["collector"])

    assert client.get(f"{API}/cases/{theirs.pk}/").status_code == 404
    assert client.get(f"{API}/cases/{theirs.pk}/contact-attempts/").status_code == 404
    posted = client.post(f"{API}/cases/{theirs.pk}/contact-attempts/", afternoon_call(theirs), format="json")
    assert posted.status_code == 404
    assert posted.json()["error"]["code"] == "not_found"
    assert not ContactAttempt.objects.exists()


def test_a_collector_cannot_assign_or_reassign_cases(api_client: ClientFor, users: dict[str, User], mine: Case) -> None:
    client = api_client(users["collector"])
    body = {"collector": users["collector"].pk}

    assert client.post(f"{API}/cases/{mine.pk}/assign/", body, format="json").status_code == 403
    assert client.post(f"{API}/cases/reassign/", {**body, "cases": [mine.pk]}, format="json").status_code == 403


def test_only_admins_read_or_write_contact_policies(api_client: ClientFor, users: dict[str, User]) -> None:
    for role in (roles.SUPERVISOR, roles.COLLECTOR, roles.RISK_OFFICER):
        assert api_client(users[role]).get(f"{API}/contact-policies/").status_code == 403
    assert api_client(users[roles.ADMIN]).get(f"{API}/contact-policies/").status_code == 200


def test_reminders_are_for_supervisors_and_the_bureau_file_for_admins_and_risk_officers(
    api_client: ClientFor, users: dict[str, User]
) -> None:
    assert api_client(users[roles.COLLECTOR]).get(f"{API}/reminders/").status_code == 403
    assert api_client(users[roles.COLLECTOR]).get(f"{API}/bureau-exports/2026-10-31/").status_code == 403
    assert api_client(users[roles.SUPERVISOR]).get(f"{API}/bureau-exports/2026-10-31/").status_code == 403


def test_an_anonymous_request_is_a_401(mine: Case) -> None:
    assert APIClient().get(f"{API}/cases/").status_code == 401


# -- risk officers --------------------------------------------------------------------------------


def test_a_risk_officer_reads_every_case_but_cannot_post(
    api_client: ClientFor, users: dict[str, User], mine: Case, theirs: Case
) -> None:
    client = api_client(users[roles.RISK_OFFICER])

    assert client.get(f"{API}/cases/{theirs.pk}/").status_code == 200
    assert client.get(f"{API}/cases/").json()["count"] == 2
    attempt = client.post(f"{API}/cases/{mine.pk}/contact-attempts/", afternoon_call(mine), format="json")
    promise = client.post(
        f"{API}/cases/{mine.pk}/promises/", {"amount": "100.00", "due_on": "2026-11-25"}, format="json"
    )
    assert (attempt.status_code, promise.status_code) == (403, 403)
    assert attempt.json()["error"]["code"] == "permission_denied"
    assert client.post(f"{API}/cases/next/").status_code == 403
    assert not ContactAttempt.objects.exists() and not Promise.objects.exists()


# -- agency users ------------------------------------------------------------------------------------


def test_an_agency_user_sees_only_the_cases_placed_with_their_agency(
    api_client: ClientFor, agency_user: User, mine: Case, theirs: Case
) -> None:
    place(theirs, agency_user)
    client = api_client(agency_user)

    assert [row["id"] for row in client.get(f"{API}/cases/").json()["results"]] == [theirs.pk]
    assert client.get(f"{API}/cases/{mine.pk}/").status_code == 404


def test_an_agency_user_sees_the_national_id_and_phones_masked(
    api_client: ClientFor, agency_user: User, theirs: Case
) -> None:
    place(theirs, agency_user)

    body = api_client(agency_user).get(f"{API}/cases/{theirs.pk}/").json()

    assert (body["borrower"]["name"], body["borrower"]["national_id"]) == ("李**", "110*************45")
    assert [point["value"] for point in body["contact_points"] if point["kind"] == "phone"] == ["137****7000"]
    assert "13700137000" not in str(body) and "110101199202022345" not in str(body)


def test_an_agency_user_with_a_pii_role_still_sees_the_placed_case_masked(
    api_client: ClientFor, agency_user: User, theirs: Case
) -> None:
    agency_user.groups.add(Group.objects.get_or_create(name=roles.SUPERVISOR)[0])
    place(theirs, agency_user)

    body = api_client(agency_user).get(f"{API}/cases/{theirs.pk}/").json()

    assert "13700137000" not in str(body) and "110101199202022345" not in str(body)


def test_a_recalled_case_disappears_from_the_agency_users_view(
    api_client: ClientFor, agency_user: User, theirs: Case
) -> None:
    place(theirs, agency_user)
    AgencyPlacement.objects.filter(case=theirs).update(recalled_on=TODAY)

    assert api_client(agency_user).get(f"{API}/cases/{theirs.pk}/").status_code == 404


def test_an_agency_user_logs_attempts_on_a_placed_case_but_nothing_else(
    api_client: ClientFor, agency_user: User, theirs: Case
) -> None:
    place(theirs, agency_user)
    client = api_client(agency_user)

    attempt = client.post(f"{API}/cases/{theirs.pk}/contact-attempts/", afternoon_call(theirs), format="json")
    promise = client.post(
        f"{API}/cases/{theirs.pk}/promises/", {"amount": "100.00", "due_on": "2026-11-25"}, format="json"
    )

    assert attempt.status_code == 201, attempt.content
    assert promise.status_code == 403
    assert client.get(f"{API}/reminders/").status_code == 403
    assert client.get(f"{API}/loans/").status_code == 403


# -- the web page's fetch(): session authentication with CSRF -------------------------------------------


def test_a_session_post_needs_the_csrf_token_and_works_with_it(users: dict[str, User], mine: Case) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(users["collector"])
    url = f"{API}/cases/{mine.pk}/contact-attempts/"

    refused = browser.post(url, afternoon_call(mine), content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]

    token = get_random_string(32)  # what the page's csrftoken cookie holds
    browser.cookies["csrftoken"] = token
    accepted = browser.post(url, afternoon_call(mine), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content
    assert ContactAttempt.objects.count() == 1
