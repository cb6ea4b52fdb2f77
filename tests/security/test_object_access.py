"""Object-level access: a collector reaches only the cases assigned to them (and the borrowers,
credit lines and loans of those cases), an agency user only the cases placed with their agency,
and nothing else of the book.

Another's case is a 404 on every object route, web and API, so a case's existence is not
disclosed; the answer to a case that does not exist at all is the same.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
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


# -- the book behind the cases: a collector reads only what their cases need ------------------------


@pytest.fixture
def their_loan(book: dict[str, Any], product: Any) -> Loan:
    """A loan of the other collector's case's borrower."""
    theirs: Case = book["theirs"]
    line = services.credit_line_open(borrower=theirs.borrower, limit=Decimal("50000.00"))
    loan = services.loan_originate(
        credit_line=line,
        product=product,
        principal=Decimal("3000.00"),
        term=3,
        method="equal_installment",
        disbursed_on=date(2026, 1, 31),
    )
    theirs.loans.add(loan)
    return loan


# Every read of a borrower, credit line or loan, API and web, by the loan it concerns.
BOOK_READS = [
    lambda loan: f"{API}/borrowers/{loan.borrower_id}/",
    lambda loan: f"{API}/credit-lines/{loan.credit_line_id}/",
    lambda loan: f"{API}/loans/{loan.pk}/",
    lambda loan: f"{API}/loans/{loan.pk}/payoff-quote/?on=2026-03-01",
    lambda loan: f"{API}/loans/{loan.pk}/payments/",
    lambda loan: reverse("loan_detail", args=[loan.pk]),
]
BOOK_READ_IDS = ["api borrower", "api credit line", "api loan", "api payoff quote", "api payments", "loan page"]


@pytest.mark.parametrize("url_of", BOOK_READS, ids=BOOK_READ_IDS)
def test_a_collector_reads_their_cases_borrower_line_and_loan(
    users: dict[str, User], book: dict[str, Any], url_of: Any
) -> None:
    response = signed_in(users[roles.COLLECTOR]).get(url_of(book["loan"]))

    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize("url_of", BOOK_READS, ids=BOOK_READ_IDS)
def test_another_collectors_borrower_line_and_loan_are_a_404_to_a_collector(
    users: dict[str, User], book: dict[str, Any], their_loan: Loan, url_of: Any
) -> None:
    """A collector browsed the whole book, masked, through these (fixed)."""
    client = signed_in(users[roles.COLLECTOR])

    hidden = client.get(url_of(their_loan))

    assert hidden.status_code == 404, hidden.content[:300]
    if url_of(their_loan).startswith(API):
        assert hidden.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("role", [roles.RISK_OFFICER, roles.SUPERVISOR, roles.ADMIN])
@pytest.mark.parametrize("url_of", BOOK_READS, ids=BOOK_READ_IDS)
def test_the_roles_that_read_the_whole_book_still_do(
    users: dict[str, User], their_loan: Loan, role: str, url_of: Any
) -> None:
    response = signed_in(users[role]).get(url_of(their_loan))

    assert response.status_code == 200, response.content[:300]


def test_a_collector_lists_and_finds_only_their_cases_loans(
    users: dict[str, User], book: dict[str, Any], their_loan: Loan
) -> None:
    client = signed_in(users[roles.COLLECTOR])
    mine: Loan = book["loan"]

    listed = [row["id"] for row in client.get(f"{API}/loans/").json()["results"]]
    by_borrower = client.get(f"{API}/loans/?borrower={their_loan.borrower_id}").json()["results"]
    search = client.get(reverse("loan_search")).content.decode()
    by_national_id = client.get(reverse("loan_search"), {"q": "110101198803033456"}).content.decode()

    assert listed == [mine.pk]
    assert by_borrower == []
    assert reverse("loan_detail", args=[mine.pk]) in search
    assert reverse("loan_detail", args=[their_loan.pk]) not in search
    assert reverse("loan_detail", args=[their_loan.pk]) not in by_national_id


def test_a_risk_officer_lists_the_whole_book(users: dict[str, User], book: dict[str, Any], their_loan: Loan) -> None:
    listed = [row["id"] for row in signed_in(users[roles.RISK_OFFICER]).get(f"{API}/loans/").json()["results"]]

    assert listed == [their_loan.pk, book["loan"].pk]


def test_a_collector_reveal_on_another_collectors_loan_is_a_404_and_writes_nothing(
    users: dict[str, User], their_loan: Loan
) -> None:
    response = signed_in(users[roles.COLLECTOR]).post(reverse("loan_reveal", args=[their_loan.pk]), {"field": "name"})

    assert response.status_code == 404
    assert not AuditLog.objects.filter(action="pii.reveal").exists()
