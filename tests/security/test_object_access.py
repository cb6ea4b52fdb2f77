"""Object-level access: a collector reaches only the cases assigned to them, an agency user only
the cases placed with their agency, and nothing else of the book.

Another's case is a 404 on every object route, web and API, so a case's existence is not
disclosed; the answer to a case that does not exist at all is the same.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from riskdesk.collections.models import Case, ContactAttempt
from riskdesk.core import roles
from riskdesk.core.models import AuditLog
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, Loan
from tests.collections.test_api_permissions import afternoon_call, open_case, place

API = "/api/v1"
MISSING = 999_999


@pytest.fixture(autouse=True)
def _attempts_at_chosen_instants(any_attempt_time: None) -> None:
    """Attempts are logged at instants these tests choose."""


@pytest.fixture
def agency_user(db: None) -> User:
    user = User.objects.create_user(username="agent")
    user.groups.add(Group.objects.get_or_create(name=roles.AGENCY)[0])
    return user


@pytest.fixture
def book(users: dict[str, User], borrower: Borrower, make_loan: Any, agency_user: User) -> dict[str, Any]:
    """The collector's case (with a loan and an attempt), another collector's, one placed with the agency."""
    other_collector = User.objects.create_user(username="other-collector")
    other_collector.groups.add(Group.objects.get(name=roles.COLLECTOR))
    loan = make_loan()
    mine = open_case(borrower, loan, assigned_to=users[roles.COLLECTOR])
    someone = services.borrower_register(
        name="王五", national_id="110101198803033456", phones=[{"number": "13900139000", "label": "mobile"}]
    )
    theirs = open_case(someone, assigned_to=other_collector)
    placed_borrower = services.borrower_register(
        name="李四", national_id="110101199202022345", phones=[{"number": "13700137000", "label": "mobile"}]
    )
    placed = open_case(placed_borrower)
    place(placed, agency_user)
    for case, user in ((mine, users[roles.COLLECTOR]), (theirs, other_collector)):
        client = Client()
        client.force_login(user)
        logged = client.post(f"{API}/cases/{case.pk}/contact-attempts/", afternoon_call(case), "application/json")
        assert logged.status_code == 201, logged.content
    return {"loan": loan, "mine": mine, "theirs": theirs, "placed": placed}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def attempt_of(case: Case) -> int:
    return ContactAttempt.objects.get(case=case).pk


# The object routes of a case: method, URL, body, and the agency's answer for a case not
# placed with it (a 403 where its role may never act, before any case is looked up).
CASE_ROUTES = [
    ("GET", lambda case: f"{API}/cases/{case.pk}/", None, 404),
    ("GET", lambda case: f"{API}/cases/{case.pk}/contact-attempts/", None, 404),
    ("POST", lambda case: f"{API}/cases/{case.pk}/contact-attempts/", "attempt", 404),
    ("POST", lambda case: f"{API}/cases/{case.pk}/promises/", {"amount": "100.00", "due_on": "2026-11-25"}, 403),
    ("POST", lambda case: f"{API}/cases/{case.pk}/arrangements/", {}, 403),
    ("POST", lambda case: f"{API}/cases/{case.pk}/disputes/", {}, 403),
    ("POST", lambda case: f"{API}/cases/{case.pk}/field-visits/", {}, 403),
    ("GET", lambda case: reverse("collections_case", args=[case.pk]), None, 404),
    ("POST", lambda case: reverse("collections_reveal", args=[case.pk]), {"field": "national_id"}, 404),
    ("GET", lambda case: reverse("collections_attempt_row", args=[case.pk, attempt_of(case)]), None, 404),
    ("POST", lambda case: reverse("collections_promise", args=[case.pk]), {"amount": "100.00"}, 403),
    ("POST", lambda case: reverse("collections_arrangement", args=[case.pk]), {}, 403),
]
ROUTE_IDS = [
    f"{method} {name}"
    for method, name in zip(
        (route[0] for route in CASE_ROUTES),
        (
            "api case",
            "api attempts",
            "api attempts",
            "api promises",
            "api arrangements",
            "api disputes",
            "api field visits",
            "case page",
            "reveal",
            "attempt row",
            "promise form",
            "arrangement form",
        ),
        strict=True,
    )
]


def call(client: Client, method: str, url: str, body: Any, case: Case) -> Any:
    if body == "attempt":
        body = afternoon_call(case)
    if url.startswith(API):
        return client.generic(method, url, "" if body is None else json.dumps(body), "application/json")
    return client.get(url) if method == "GET" else client.post(url, body)


@pytest.mark.parametrize(("method", "url_of", "body", "agency_answer"), CASE_ROUTES, ids=ROUTE_IDS)
def test_another_collectors_case_is_a_404_on_every_object_route(
    users: dict[str, User], book: dict[str, Any], method: str, url_of: Any, body: Any, agency_answer: int
) -> None:
    theirs = book["theirs"]
    writes_before = (ContactAttempt.objects.count(), AuditLog.objects.count())

    response = call(signed_in(users[roles.COLLECTOR]), method, url_of(theirs), body, theirs)

    assert response.status_code == 404, response.content[:300]
    assert (ContactAttempt.objects.count(), AuditLog.objects.count()) == writes_before


@pytest.mark.parametrize(("method", "url_of", "body", "agency_answer"), CASE_ROUTES, ids=ROUTE_IDS)
def test_a_case_not_placed_with_the_agency_is_a_404_on_every_object_route(
    agency_user: User, book: dict[str, Any], method: str, url_of: Any, body: Any, agency_answer: int
) -> None:
    mine = book["mine"]
    writes_before = (ContactAttempt.objects.count(), AuditLog.objects.count())

    response = call(signed_in(agency_user), method, url_of(mine), body, mine)

    assert response.status_code == agency_answer, response.content[:300]
    assert (ContactAttempt.objects.count(), AuditLog.objects.count()) == writes_before


def test_a_case_that_does_not_exist_answers_as_another_collectors_does(
    users: dict[str, User], book: dict[str, Any]
) -> None:
    client = signed_in(users[roles.COLLECTOR])

    for url in (f"{API}/cases/{{}}/", "/collections/cases/{}/"):
        hidden, missing = client.get(url.format(book["theirs"].pk)), client.get(url.format(MISSING))
        assert hidden.status_code == missing.status_code == 404
        if url.startswith(API):
            assert hidden.json() == missing.json()


def test_a_collector_lists_and_is_handed_only_their_own_cases(users: dict[str, User], book: dict[str, Any]) -> None:
    client = signed_in(users[roles.COLLECTOR])

    listed = [row["id"] for row in client.get(f"{API}/cases/").json()["results"]]
    queue = client.get(reverse("collections_queue")).content.decode()
    handed = client.post(f"{API}/cases/next/")

    assert listed == [book["mine"].pk]
    assert f"/collections/cases/{book['mine'].pk}/" in queue
    assert f"/collections/cases/{book['theirs'].pk}/" not in queue
    # The other cases are assigned or placed: nothing is waiting for this collector.
    assert handed.status_code == 404 and handed.json()["error"]["code"] == "queue_empty"


def test_an_agency_user_lists_only_the_placed_case_and_works_it(agency_user: User, book: dict[str, Any]) -> None:
    client = signed_in(agency_user)
    placed = book["placed"]

    listed = [row["id"] for row in client.get(f"{API}/cases/").json()["results"]]
    page = client.get(reverse("collections_case", args=[placed.pk]))
    attempt = client.post(f"{API}/cases/{placed.pk}/contact-attempts/", afternoon_call(placed), "application/json")

    assert listed == [placed.pk]
    assert page.status_code == 200
    assert attempt.status_code == 201, attempt.content


def test_an_agency_user_records_no_promise_or_arrangement_on_the_web_either(
    agency_user: User, book: dict[str, Any]
) -> None:
    """The API let an agency user log attempts only; the case page's forms let them promise (fixed)."""
    client = signed_in(agency_user)
    placed = book["placed"]

    promise = client.post(
        reverse("collections_promise", args=[placed.pk]), {"amount": "100.00", "due_on": "2026-11-25"}
    )
    arrangement = client.post(reverse("collections_arrangement", args=[placed.pk]), {"reason": "hardship"})
    page = client.get(reverse("collections_case", args=[placed.pk])).content.decode()

    assert (promise.status_code, arrangement.status_code) == (403, 403)
    assert not placed.promises.exists() and not placed.arrangements.exists()
    assert reverse("collections_promise", args=[placed.pk]) not in page


@pytest.mark.parametrize(
    "url",
    [
        "/loans/",
        "/loans/{loan}/",
        "/dashboards/portfolio/",
        "/dashboards/collections/",
        "/dashboards/portfolio/?export=headline",
        "/operations/",
        "/models/",
    ],
)
def test_an_agency_user_reads_nothing_else_of_the_book_on_the_web(
    agency_user: User, book: dict[str, Any], url: str
) -> None:
    response = signed_in(agency_user).get(url.format(loan=book["loan"].pk))

    assert response.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/borrowers/{borrower}/",
        "/loans/",
        "/loans/{loan}/",
        "/loans/{loan}/payments/",
        "/loans/{loan}/payoff-quote/",
        "/credit-lines/{line}/",
        "/products/",
        "/complaints/",
        "/reminders/",
        "/bureau-exports/2026-10-31/",
        "/operations/job-runs/",
        "/models/",
    ],
)
def test_an_agency_user_reads_nothing_else_of_the_book_through_the_api(
    agency_user: User, book: dict[str, Any], path: str
) -> None:
    loan: Loan = book["loan"]
    url = API + path.format(borrower=loan.credit_line.borrower_id, loan=loan.pk, line=loan.credit_line_id)

    response = signed_in(agency_user).get(url)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_signed_in_user_without_a_role_sees_no_loan_page(db: None, book: dict[str, Any]) -> None:
    """The loan pages asked only for a login: any account, an agency's included, read the whole book (fixed)."""
    nobody = User.objects.create_user(username="no-role")
    client = signed_in(nobody)

    assert client.get("/loans/").status_code == 403
    assert client.get(f"/loans/{book['loan'].pk}/").status_code == 403
    assert client.get(f"/collections/cases/{book['mine'].pk}/").status_code == 404
    assert client.get(f"{API}/cases/").status_code == 403
