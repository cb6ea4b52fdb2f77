"""Every route of the URL conf x every method it accepts x every principal, against permission_rules.py.

The routes come from walking the URL resolver, so a new endpoint without a rule fails
here, naming itself; so does a rule whose route is gone. Path converters are filled with
the ids of a small book (a loan, a case assigned to the collector, a case placed with the
agency, an arrangement, a field visit, a complaint, a dispute, a model version...).
Which methods a route accepts is probed (anything but a 405 to a user holding every role)
and must be exactly the methods its rules name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import plotly
import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from rest_framework.authtoken.models import Token

from riskdesk import nightly, tasks
from riskdesk.collections.models import Arrangement, Complaint, ContactAttempt, Dispute, FieldVisit
from riskdesk.core import roles
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, Loan, Payment
from tests.collections.test_api_permissions import afternoon_call, open_case, place
from tests.riskmodels.test_services import version_made
from tests.security.permission_rules import (
    ADMIN,
    AGENCY,
    ANONYMOUS,
    API_METHODS,
    PRINCIPALS,
    RULES,
    WEB_METHODS,
)

LOGIN = resolve_url(settings.LOGIN_URL)
ADMIN_LOGIN = "/admin/login/"
SIGN_OUT = ("logout", "admin:logout")


@dataclass(frozen=True)
class Route:
    """One pattern of the URL conf: its key in the rules, its full pattern, and whose it is."""

    key: str
    pattern: str
    view: Any = field(compare=False, repr=False)

    @property
    def family(self) -> str:
        if self.pattern.startswith("api/"):
            return "api"
        return "admin" if self.pattern.startswith("admin/") else "web"

    @property
    def methods(self) -> tuple[str, ...]:
        return API_METHODS if self.family == "api" else WEB_METHODS


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    """Every URLPattern under `patterns`, depth first, with its full pattern and namespaced name."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            yield Route(key=namespace + entry.name if entry.name else pattern, pattern=pattern, view=entry.callback)


def url_routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def fill(route: Route, ids: dict[str, Any]) -> str:
    """The route's URL with each converter or named group replaced by the book's id for it."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "object_id":
            return str(admin_object_id(route))
        return str(ids[name])

    path = CONVERTER.sub(value, REGEX_GROUP.sub(value, route.pattern))
    return "/" + path.replace("^", "").replace("$", "")


def admin_object_id(route: Route) -> int:
    """The first record of the admin page's model (0 when it has none: the admin says so, by role)."""
    app_label, model_name = route.pattern.split("/")[1:3]
    if app_label == "r":  # view_on_site: admin/r/<content type>/<object>/
        return 0
    record = apps.get_model(app_label, model_name)._default_manager.order_by("pk").first()
    return record.pk if record is not None else 0  # TokenProxy's pk is its user's


# -- the book -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _attempts_at_chosen_instants(any_attempt_time: None) -> None:
    """The book logs an attempt at an instant it chooses."""


@pytest.fixture
def book(
    users: dict[str, User], borrower: Borrower, make_loan: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, Any]]:
    """Ids to fill the routes with, by principal: the agency's case is the one placed with it."""
    # An admin's empty POST to close the day must not close a year of days.
    monkeypatch.setattr(nightly, "close_days", lambda *args, **kwargs: [])
    monkeypatch.setattr(tasks.close_day, "delay", lambda *args, **kwargs: SimpleNamespace(id="not-run"))

    agency_user = User.objects.create_user(username="agent")
    agency_user.groups.add(Group.objects.get_or_create(name=roles.AGENCY)[0])
    users[AGENCY] = agency_user
    loan = make_loan()
    mine = open_case(borrower, loan, assigned_to=users[roles.COLLECTOR])
    other = services.borrower_register(
        name="李四", national_id="110101199202022345", phones=[{"number": "13700137000", "label": "mobile"}]
    )
    placed = open_case(other)
    place(placed, agency_user)
    payment, _ = services.payment_post(
        loan=loan,
        amount=Decimal("50.00"),
        value_date=loan.disbursed_on + timedelta(days=10),
        kind=Payment.Kind.REGULAR,
        channel=Payment.Channel.APP,
        idempotency_key="matrix-1",
    )
    collector = users[roles.COLLECTOR]
    arrangement = Arrangement.objects.create(
        case=mine, loan=loan, kind=Arrangement.Kind.EXTENSION, months=1, reason="hardship", requested_by=collector
    )
    visit = FieldVisit.objects.create(
        case=mine,
        planned_at=timezone.now(),
        address="北京市朝阳区建国路1号",
        reason="no answer",
        requested_by=collector,
    )
    complaint = Complaint.objects.create(
        borrower=borrower,
        case=mine,
        channel="call",
        category=Complaint.Category.OTHER,
        received_at=timezone.now(),
        description="rude",
    )
    dispute = Dispute.objects.create(borrower=borrower, case=mine, note="not mine", opened_at=timezone.now())
    attempt = Client()
    attempt.force_login(collector)
    logged = attempt.post(f"/api/v1/cases/{mine.pk}/contact-attempts/", afternoon_call(mine), "application/json")
    assert logged.status_code == 201, logged.content
    # A record for each admin page whose refusal comes after its lookup (history, change).
    Token.objects.create(user=collector)
    AccessAttempt.objects.create(username="someone", ip_address="10.0.0.1", user_agent="test", failures_since_start=1)
    ids = {
        "borrower_id": borrower.pk,
        "credit_line_id": loan.credit_line_id,
        "loan_id": loan.pk,
        "payment_id": payment.pk,
        "case_id": mine.pk,
        "attempt_id": ContactAttempt.objects.get().pk,
        "arrangement_id": arrangement.pk,
        "visit_id": visit.pk,
        "complaint_id": complaint.pk,
        "dispute_id": dispute.pk,
        "version_id": version_made(1).pk,
        "user_id": collector.pk,
        "id": collector.pk,  # admin/auth/user/<id>/password/
        "month_end": "2026-10-31",
        "version": plotly.__version__,
        "content_type_id": ContentType.objects.get_for_model(Loan).pk,
        "app_label": "lending",
        "url": "no-such-page/",
    }
    return {principal: ids | ({"case_id": placed.pk} if principal == AGENCY else {}) for principal in PRINCIPALS}


def request(client: Client, route: Route, method: str, url: str) -> HttpResponse:
    """An empty request: enough to meet the permission check, never enough to pass validation."""
    if route.family == "api":
        return client.generic(method, url, b"{}" if method != "GET" else b"", content_type="application/json")
    return client.post(url, {}) if method == "POST" else client.get(url)


class Principals:
    """A client per principal, signed in again after a request that signed it out."""

    def __init__(self, users: dict[str, User]) -> None:
        self.users = users
        self.clients: dict[str, Client] = {}

    def client(self, principal: str) -> Client:
        if principal not in self.clients:
            client = Client(raise_request_exception=False)
            if principal != ANONYMOUS:
                client.force_login(self.users[principal])
            self.clients[principal] = client
        return self.clients[principal]

    def signed_out(self, principal: str) -> None:
        self.clients.pop(principal, None)


def accepted_methods(route: Route, url: str, prober: Principals) -> set[str]:
    """The methods the route's view takes: what a user holding every role is answered with
    anything but 405. An API view refuses a method no role may write with 403 before it
    looks for a handler, so there the handlers count, and a 403 does not."""
    view_class = getattr(route.view, "cls", None)
    accepted = {method for method in route.methods if hasattr(view_class, method.lower())}
    not_taken = (403, 405) if route.family == "api" else (405,)
    for method in route.methods:
        if request(prober.client("probe"), route, method, url).status_code not in not_taken:
            accepted.add(method)
        prober.signed_out("probe")  # a probe of a logout signs it out
    return accepted


def refusal_problem(route: Route, principal: str, response: HttpResponse) -> str:
    """What is wrong with `response` as a refusal of `principal` ("" when it is the expected one)."""
    status, location = response.status_code, response.get("Location", "")
    if route.family == "admin" and principal != ADMIN:
        return "" if status == 302 and location.startswith(ADMIN_LOGIN) else f"{status} {location}, not 302 to login"
    if route.family == "web" and principal == ANONYMOUS:
        fine = status == 302 and location.startswith(LOGIN)
        return "" if fine else f"{status} {location}, not 302 to login"
    if route.family == "api" and principal == ANONYMOUS:
        return "" if status == 401 else f"{status}, not 401"
    if status != 403:
        return f"{status}, not 403"
    if route.family == "api" and response.json()["error"]["code"] not in ("permission_denied", "not_permitted"):
        return f"403 without the error shape: {response.content[:200]!r}"
    return ""


def allowance_problem(route: Route, response: HttpResponse) -> str:
    """What is wrong with `response` to a principal the rules allow ("" when nothing)."""
    status, location = response.status_code, response.get("Location", "")
    if status in (401, 403, 405) or status >= 500:
        return f"{status}"
    signing_out = route.key in SIGN_OUT
    if status == 302 and not signing_out and (location.startswith(LOGIN) or location.startswith(ADMIN_LOGIN)):
        return f"302 to {location}"
    return ""


# -- the tests --------------------------------------------------------------------------------------


def test_every_route_has_a_rule_and_every_rule_a_route() -> None:
    routes = {route.key for route in url_routes()}
    ruled = {key for key, _method in RULES}

    missing = sorted(routes - ruled)
    stale = sorted(ruled - routes)

    assert not missing, f"routes without a rule in tests/security/permission_rules.py: {missing}"
    assert not stale, f"rules for routes the URL conf no longer has: {stale}"


def test_every_route_answers_each_principal_as_its_rules_say(
    book: dict[str, dict[str, Any]], users: dict[str, User]
) -> None:
    everyone = User.objects.create_user(username="every-role")
    everyone.groups.add(*(Group.objects.get_or_create(name=role)[0] for role in (*roles.ALL_ROLES, roles.AGENCY)))
    prober = Principals({"probe": everyone})
    principals = Principals(users)
    problems: list[str] = []
    checked = 0

    for route in url_routes():
        url = fill(route, book[ADMIN])
        assert resolve(url).func is route.view, f"{url} does not resolve to {route.key}"
        accepted = accepted_methods(route, url, prober)
        ruled = {method for key, method in RULES if key == route.key}
        if accepted != ruled:
            problems.append(f"{route.key}: accepts {sorted(accepted)}, rules name {sorted(ruled)}")
            continue
        for method in sorted(ruled):
            allowed = RULES[(route.key, method)]
            for principal in PRINCIPALS:
                url = fill(route, book[principal])
                response = request(principals.client(principal), route, method, url)
                if route.key in SIGN_OUT:
                    principals.signed_out(principal)
                checked += 1
                if principal in allowed:
                    problem = allowance_problem(route, response)
                    expected = "allowed"
                else:
                    problem = refusal_problem(route, principal, response)
                    expected = "refused"
                if problem:
                    problems.append(f"{method} {url} ({route.key}) as {principal}: {expected}, got {problem}")

    assert not problems, f"{len(problems)} of {checked} answers are not the rules':\n" + "\n".join(problems)
    assert checked == len(RULES) * len(PRINCIPALS)


def test_the_matrix_counts_every_route_method_and_principal() -> None:
    routes = url_routes()

    assert len(RULES) == sum(len({m for k, m in RULES if k == route.key}) for route in routes)
    print(  # the figure the closing note quotes  # noqa: T201
        f"permission matrix: {len(routes)} routes, {len(RULES)} route x method pairs, "
        f"{len(PRINCIPALS)} principals: {len(RULES) * len(PRINCIPALS)} answers checked"
    )
