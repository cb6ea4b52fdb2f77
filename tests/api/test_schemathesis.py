"""schemathesis against the API's own OpenAPI schema (/api/v1/schema/): no 5xx, every response as documented.

The schema is the document the endpoint serves to a signed-in user (it refuses the anonymous):
built at collection by the generator the endpoint runs, since no user exists before the test
database does, and checked against the endpoint's answer, loaded with a token, by
test_the_fuzzed_schema_is_the_one_served_with_a_token. Every operation is called through the
WSGI application (no server) with generated input, authenticated by token as an admin and again as a collector. Each
answer must not be a server error, must carry a documented status code and content type,
and its body must match the documented schema for that status.

The book behind it is pytest-django's database with a small fixture book (a loan, a
payment, a case with an arrangement, a dispute, a field visit, a complaint, a model
version ...); most generated path ids are mapped onto those rows so the operations reach
past their 404 (FUZZ_REAL_IDS_OUT_OF of them; the rest stay as generated, 0 and 2^63
included).

Bounded: RISKDESK_FUZZ_EXAMPLES generated examples per operation and role (default 10),
plus, as the admin, schemathesis's coverage phase (boundary and invalid values of every
parameter and field, about 5,000 calls in all); derandomized, so a run is repeatable.
`make fuzz` runs it with 500. RISKDESK_FUZZ_REPORT names a JSON file that receives the
counts of examples run per operation and role.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.settings import spectacular_settings
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from riskdesk.collections.models import Arrangement, Complaint, Dispute, FieldVisit
from riskdesk.wsgi import application
from tests.api.conftest import LateLoan
from tests.conftest import TODAY
from tests.riskmodels.test_services import version_made

EXAMPLES = int(os.environ.get("RISKDESK_FUZZ_EXAMPLES", "10"))
FUZZ_REAL_IDS_OUT_OF = (3, 4)  # 3 of 4 generated path ids become a fixture row's id
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SHANGHAI = ZoneInfo("Asia/Shanghai")

SCHEMA_PATH = "/api/v1/schema/?format=json"


def served_schema() -> dict[str, Any]:
    """The document SCHEMA_PATH serves to a signed-in user: drf-spectacular's view renders this generator's output."""
    generated = SchemaGenerator().get_schema(request=None, public=spectacular_settings.SERVE_PUBLIC)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


def schema_on_the_app(document: dict[str, Any], config: Any = None) -> Any:
    """`document` loaded as from_wsgi loads SCHEMA_PATH's answer: its operations called on the WSGI application."""
    loaded = schemathesis.openapi.from_dict(document, config=config)
    loaded.app, loaded.location = application, SCHEMA_PATH
    return loaded


SCHEMA = served_schema()
schema = schema_on_the_app(SCHEMA)
# The collector's pass: generated examples only. Most operations refuse a collector (403) before
# reading the input, so the coverage phase's thousands of boundary bodies would test nothing new.
collector_schema = schema_on_the_app(
    SCHEMA, config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
)

# Path parameter -> the fixture book's ids for it, filled by the `book` fixture.
REAL_IDS: dict[str, list[Any]] = {}
EXAMPLES_RUN: Counter[str] = Counter()


def map_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
    """Most generated ids name a real row, picked by the generated value so a run is repeatable."""
    if not isinstance(path_parameters, dict):
        return path_parameters
    mapped = dict(path_parameters)
    for name, value in path_parameters.items():
        ids = REAL_IDS.get(name)
        if not ids or not isinstance(value, int):
            continue
        real, out_of = FUZZ_REAL_IDS_OUT_OF
        if value % out_of < real:
            mapped[name] = ids[value % len(ids)]
    return mapped


schema.hook(map_path_parameters)
collector_schema.hook(map_path_parameters)


@pytest.fixture
def book(users: dict[str, User], late_loan: LateLoan) -> Iterator[None]:
    """The late loan with its payment and case, and the case's follow-ups."""
    supervisor, collector = users["collections_supervisor"], users["collector"]
    borrower, credit_line, loan, payment, case = (
        late_loan.borrower,
        late_loan.credit_line,
        late_loan.loan,
        late_loan.payment,
        late_loan.case,
    )
    at = datetime(TODAY.year, TODAY.month, TODAY.day, 10, tzinfo=SHANGHAI)
    arrangement = Arrangement.objects.create(
        case=case, loan=loan, kind=Arrangement.Kind.values[0], months=1, reason="fuzz", requested_by=collector
    )
    dispute = Dispute.objects.create(borrower=borrower, case=case, opened_at=at, note="fuzz")
    visit = FieldVisit.objects.create(
        case=case, planned_at=at + timedelta(days=2), address="fuzz", reason="fuzz", requested_by=supervisor
    )
    visit.staff.set([supervisor, collector])
    complaint = Complaint.objects.create(
        borrower=borrower, case=case, channel="call", category=Complaint.Category.values[0], received_at=at
    )
    version = version_made(1)
    REAL_IDS.update(
        borrower_id=[borrower.pk],
        credit_line_id=[credit_line.pk],
        loan_id=[loan.pk],
        payment_id=[payment.pk],
        case_id=[case.pk],
        arrangement_id=[arrangement.pk],
        dispute_id=[dispute.pk],
        visit_id=[visit.pk],
        complaint_id=[complaint.pk],
        version_id=[version.pk],
    )
    yield
    REAL_IDS.clear()


@pytest.fixture(autouse=True)
def connection_kept_between_requests() -> Iterator[None]:
    """Keep the test's database connection (and its transaction) across calls, as Django's test client does.

    The WSGI handler closes old connections at each request's start and end; here that would
    close the connection holding the test's transaction.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def token_for(user: User) -> dict[str, str]:
    return {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def call_and_check(case: schemathesis.Case, user: User) -> None:
    EXAMPLES_RUN[f"{user.username} {case.operation.label}"] += 1
    case.call_and_validate(headers=token_for(user), checks=CHECKS)


@pytest.mark.django_db
def test_the_fuzzed_schema_is_the_one_served_with_a_token(users: dict[str, User]) -> None:
    served = schemathesis.openapi.from_wsgi(SCHEMA_PATH, application, headers=token_for(users["collector"]))

    assert served.raw_schema == SCHEMA
    with pytest.raises(Exception, match="401"):
        schemathesis.openapi.from_wsgi(SCHEMA_PATH, application)  # no token, no schema


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


@schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.django_db
def test_api_as_admin(case: schemathesis.Case, book: None, users: dict[str, User]) -> None:
    call_and_check(case, users["admin"])


@collector_schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.django_db
def test_api_as_collector(case: schemathesis.Case, book: None, users: dict[str, User]) -> None:
    call_and_check(case, users["collector"])


@pytest.fixture(scope="module", autouse=True)
def report_examples() -> Iterator[None]:
    """Write the examples run per operation and role to RISKDESK_FUZZ_REPORT, when named."""
    yield
    path = os.environ.get("RISKDESK_FUZZ_REPORT")
    if path:
        report = {
            "examples_per_operation_setting": EXAMPLES,
            "operations": len({key.split(" ", 1)[1] for key in EXAMPLES_RUN}),
            "calls": sum(EXAMPLES_RUN.values()),
            "by_operation": dict(sorted(EXAMPLES_RUN.items())),
        }
        with open(path, "w") as out:
            json.dump(report, out, indent=1)
