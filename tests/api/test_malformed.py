"""Malformed input to the write endpoints: each a 4xx in the shared error shape naming the field, nothing written.

Table-driven: every row posts one bad request as an admin against a small book (a
product, a borrower with a line, a loan with a payment, a case) and expects an exact
status, error code and the fields named. Around every request the rows of every table
of the book's apps (audit log and job runs included) are counted, and the money totals
(payments, allocations, installments paid, outstanding principal) summed: all equal after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Sum
from rest_framework.test import APIClient

from riskdesk.lending.models import Allocation, CreditLine, Installment, Loan, Payment
from tests.api.conftest import LateLoan
from tests.conftest import TODAY

API = "/api/v1"
BOOK_APPS = ("core", "lending", "collections", "riskmodels", "authtoken")
HUGE_ID = 2**63  # one past Postgres's bigint
TOMORROW = (TODAY + timedelta(days=1)).isoformat()


@pytest.fixture
def book(late_loan: LateLoan) -> LateLoan:
    return late_loan


@pytest.fixture
def admin_api(users: dict[str, User]) -> APIClient:
    client = APIClient()
    client.force_authenticate(users["admin"])
    return client


def row_counts() -> dict[str, int]:
    """The rows of every table of the book's apps, audit log and job runs included."""
    return {
        model._meta.label: model.objects.count()
        for label in BOOK_APPS
        for model in apps.get_app_config(label).get_models()
    }


def money_totals() -> dict[str, Decimal | None]:
    return {
        "payments": Payment.objects.aggregate(total=Sum("amount"))["total"],
        "allocated": Allocation.objects.aggregate(total=Sum("principal") + Sum("interest") + Sum("penalty"))["total"],
        "installments_paid": Installment.objects.aggregate(
            total=Sum("principal_paid") + Sum("interest_paid") + Sum("penalty_paid")
        )["total"],
        "outstanding": Loan.objects.aggregate(total=Sum("outstanding_principal"))["total"],
        "limits": CreditLine.objects.aggregate(total=Sum("limit"))["total"],
    }


# -- the table ------------------------------------------------------------------------------------

Url = Callable[[LateLoan], str]


def payments_url(book: LateLoan) -> str:
    return f"{API}/loans/{book.loan.pk}/payments/"


def good_payment(**changes: Any) -> dict[str, Any]:
    return {"amount": "50.00", "value_date": TODAY.isoformat(), "kind": "regular", "channel": "app", **changes}


def good_loan(book: LateLoan, **changes: Any) -> dict[str, Any]:
    return {
        "credit_line": book.credit_line.pk,
        "product": book.product.pk,
        "principal": "1000.00",
        "term": 3,
        "method": "equal_installment",
        "disbursed_on": TODAY.isoformat(),
        **changes,
    }


def good_product(**changes: Any) -> dict[str, Any]:
    return {
        "code": "fuzz",
        "name": "Fuzz",
        "daily_rate": "0.00045",
        "methods": ["bullet"],
        "terms": [30],
        "min_amount": "100.00",
        "max_amount": "1000.00",
        **changes,
    }


def good_borrower(**changes: Any) -> dict[str, Any]:
    return {"name": "李四", "national_id": "110101199002022345", "phones": [{"number": "13900139000"}], **changes}


@dataclass
class Bad:
    """One malformed request and the refusal it must get."""

    url: Url
    body: Callable[[LateLoan], Any] | Any
    status: int
    code: str
    fields: list[str] = field(default_factory=list)
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=lambda: {"HTTP_IDEMPOTENCY_KEY": "malformed-1"})
    raw: bool = False  # the body is sent as it is, not JSON-encoded


def url(path: str) -> Url:
    return lambda book: f"{API}{path}"


def loan_with(**changes: Any) -> Callable[[LateLoan], dict[str, Any]]:
    return lambda book: good_loan(book, **changes)


BAD_REQUESTS: dict[str, Bad] = {
    # -- the body itself
    "malformed JSON": Bad(payments_url, '{"amount": "50.00", ', 400, "malformed_json", raw=True),
    "JSON that is not an object": Bad(url("/products/"), "[1, 2]", 400, "invalid", ["non_field_errors"], raw=True),
    "empty JSON object": Bad(url("/credit-lines/"), {}, 400, "invalid", ["borrower", "limit"]),
    "wrong content type": Bad(
        payments_url, "amount=50", 415, "unsupported_media_type", content_type="text/plain", raw=True
    ),
    "body over DATA_UPLOAD_MAX_MEMORY_SIZE": Bad(
        payments_url,
        json.dumps(good_payment(reference="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))),
        413,
        "too_large",
        raw=True,
    ),
    "form body with too many fields": Bad(
        url("/cases/reassign/"),
        "&".join(["cases=1"] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)),
        400,
        "bad_request",
        content_type="application/x-www-form-urlencoded",
        raw=True,
    ),
    # -- wrong types and missing fields
    "amount as a JSON number with a fraction of a fen": Bad(
        payments_url, good_payment(amount=0.001), 400, "invalid", ["amount"]
    ),
    "amount as a list": Bad(payments_url, good_payment(amount=["50.00"]), 400, "invalid", ["amount"]),
    "term as a string of words": Bad(url("/loans/"), loan_with(term="three"), 400, "invalid", ["term"]),
    "term as a boolean": Bad(url("/loans/"), loan_with(term=True), 400, "invalid", ["term"]),
    "credit line id as a float": Bad(url("/loans/"), loan_with(credit_line=1.5), 400, "invalid", ["credit_line"]),
    "methods as a string": Bad(url("/products/"), good_product(methods="bullet"), 400, "invalid", ["methods"]),
    "missing value date and kind": Bad(
        payments_url, {"amount": "50.00", "channel": "app"}, 400, "invalid", ["value_date", "kind"]
    ),
    "unknown payment kind": Bad(payments_url, good_payment(kind="gift"), 400, "invalid", ["kind"]),
    "missing Idempotency-Key": Bad(payments_url, good_payment(), 400, "invalid", ["Idempotency-Key"], headers={}),
    # -- amounts
    "negative amount": Bad(payments_url, good_payment(amount="-50.00"), 422, "invalid_amount", ["amount"]),
    "zero amount": Bad(payments_url, good_payment(amount="0.00"), 422, "invalid_amount", ["amount"]),
    "amount 1e30": Bad(payments_url, good_payment(amount="1e30"), 400, "invalid", ["amount"]),
    "amount 0.001": Bad(payments_url, good_payment(amount="0.001"), 400, "invalid", ["amount"]),
    "amount NaN": Bad(payments_url, good_payment(amount="NaN"), 400, "invalid", ["amount"]),
    "amount Infinity": Bad(payments_url, good_payment(amount="Infinity"), 400, "invalid", ["amount"]),
    "amount -Infinity": Bad(payments_url, good_payment(amount="-Infinity"), 400, "invalid", ["amount"]),
    "principal 1e30": Bad(url("/loans/"), loan_with(principal="1e30"), 400, "invalid", ["principal"]),
    "principal negative": Bad(url("/loans/"), loan_with(principal="-1000.00"), 422, "invalid_amount", ["principal"]),
    "credit limit NaN": Bad(
        url("/credit-lines/"), lambda b: {"borrower": b.borrower.pk, "limit": "NaN"}, 400, "invalid", ["limit"]
    ),
    "credit limit negative": Bad(
        url("/credit-lines/"), lambda b: {"borrower": b.borrower.pk, "limit": "-1.00"}, 422, "invalid_amount", ["limit"]
    ),
    "daily rate 1e30": Bad(url("/products/"), good_product(daily_rate="1e30"), 400, "invalid", ["daily_rate"]),
    "term past smallint": Bad(url("/loans/"), loan_with(term=2**40), 400, "invalid", ["term"]),
    "promise amount Infinity": Bad(
        lambda b: f"{API}/cases/{b.case.pk}/promises/",
        {"amount": "Infinity", "due_on": TODAY.isoformat()},
        400,
        "invalid",
        ["amount"],
    ),
    # -- dates
    "value date 0000-01-01": Bad(payments_url, good_payment(value_date="0000-01-01"), 400, "invalid", ["value_date"]),
    "value date 99999-01-01": Bad(payments_url, good_payment(value_date="99999-01-01"), 400, "invalid", ["value_date"]),
    "value date in the future": Bad(
        payments_url, good_payment(value_date=TOMORROW), 422, "future_value_date", ["value_date"]
    ),
    "value date 0001-01-01": Bad(
        payments_url, good_payment(value_date="0001-01-01"), 422, "value_date_before_disbursement", ["value_date"]
    ),
    "value date 9999-12-31": Bad(
        payments_url, good_payment(value_date="9999-12-31"), 422, "future_value_date", ["value_date"]
    ),
    "disbursed on 0001-01-01": Bad(
        url("/loans/"), loan_with(disbursed_on="0001-01-01"), 422, "disbursement_too_old", ["disbursed_on"]
    ),
    "disbursed on 9999-12-31": Bad(
        url("/loans/"), loan_with(disbursed_on="9999-12-31"), 422, "future_date", ["disbursed_on"]
    ),
    "close day as of 9999-12-31": Bad(
        url("/operations/close-day/"), {"as_of": "9999-12-31"}, 422, "day_not_over", ["as_of"]
    ),
    "close day as of 0000-01-01": Bad(
        url("/operations/close-day/"), {"as_of": "0000-01-01"}, 400, "invalid", ["as_of"]
    ),
    "autodebit failure on 99999-01-01": Bad(
        lambda b: f"{API}/loans/{b.loan.pk}/autodebit-failures/",
        {"attempted_on": "99999-01-01", "amount": "10.00", "cause": "bank_error"},
        400,
        "invalid",
        ["attempted_on"],
    ),
    # -- unknown ids
    "payment to a loan that does not exist": Bad(url("/loans/999999/payments/"), good_payment(), 404, "not_found"),
    "payment to a loan id past bigint": Bad(url(f"/loans/{HUGE_ID}/payments/"), good_payment(), 404, "not_found"),
    "reversal of a payment id past bigint": Bad(
        url(f"/payments/{HUGE_ID}/reverse/"), {"reason": "x"}, 404, "not_found"
    ),
    "credit line for a borrower that does not exist": Bad(
        url("/credit-lines/"), {"borrower": 999999, "limit": "1.00"}, 400, "invalid", ["borrower"]
    ),
    "credit line for a borrower id past bigint": Bad(
        url("/credit-lines/"), {"borrower": HUGE_ID, "limit": "1.00"}, 400, "invalid", ["borrower"]
    ),
    "loan on a product id past bigint": Bad(url("/loans/"), loan_with(product=HUGE_ID), 400, "invalid", ["product"]),
    "case assigned to a collector id past bigint": Bad(
        lambda b: f"{API}/cases/{b.case.pk}/assign/", {"collector": HUGE_ID}, 400, "invalid", ["collector"]
    ),
    "cases reassigned by ids past bigint": Bad(
        url("/cases/reassign/"),
        lambda b: {"cases": [HUGE_ID], "collector": b.collector.pk},
        404,
        "case_not_found",
        ["cases"],
    ),
    "grace policy for a product id past bigint": Bad(
        url("/grace-policies/"), {"product": HUGE_ID, "effective_from": TODAY.isoformat()}, 400, "invalid", ["product"]
    ),
    # -- strings
    "NUL byte in a name": Bad(url("/borrowers/"), good_borrower(name="Li\x00Si"), 400, "invalid", ["name"]),
    "NUL byte in a reference": Bad(payments_url, good_payment(reference="ref\x00"), 400, "invalid", ["reference"]),
    "NUL byte in a reversal reason": Bad(
        lambda b: f"{API}/payments/{b.payment.pk}/reverse/", {"reason": "\x00"}, 400, "invalid", ["reason"]
    ),
    "lone surrogate in a name": Bad(
        url("/borrowers/"), '{"name": "\\ud800", "national_id": "1"}', 400, "invalid", ["name"], raw=True
    ),
    "overlong name": Bad(url("/borrowers/"), good_borrower(name="名" * 101), 400, "invalid", ["name"]),
    "overlong reference": Bad(payments_url, good_payment(reference="r" * 65), 400, "invalid", ["reference"]),
    "overlong Idempotency-Key": Bad(
        payments_url, good_payment(), 400, "invalid", ["Idempotency-Key"], headers={"HTTP_IDEMPOTENCY_KEY": "k" * 129}
    ),
    "overlong product code": Bad(url("/products/"), good_product(code="c" * 33), 400, "invalid", ["code"]),
}


@pytest.mark.parametrize("bad", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_malformed_input_is_refused_in_the_error_shape_and_writes_nothing(
    admin_api: APIClient, book: LateLoan, bad: Bad
) -> None:
    body = bad.body(book) if callable(bad.body) else bad.body
    data = body if bad.raw else json.dumps(body)
    rows, money = row_counts(), money_totals()

    response = admin_api.post(bad.url(book), data, content_type=bad.content_type, **bad.headers)

    assert response.status_code == bad.status, response.content[:500]
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "fields"}
    assert error["code"] == bad.code, error
    assert sorted(error["fields"]) == sorted(bad.fields), error
    assert row_counts() == rows
    assert money_totals() == money


def test_the_same_idempotency_key_with_another_body_is_a_409_and_writes_nothing(
    admin_api: APIClient, book: LateLoan
) -> None:
    first = admin_api.post(payments_url(book), good_payment(), format="json", HTTP_IDEMPOTENCY_KEY="same-key")
    assert first.status_code == 201, first.content
    rows, money = row_counts(), money_totals()

    response = admin_api.post(
        payments_url(book), good_payment(amount="60.00"), format="json", HTTP_IDEMPOTENCY_KEY="same-key"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert row_counts() == rows
    assert money_totals() == money


def test_the_same_idempotency_key_with_the_same_body_returns_the_first_payment(
    admin_api: APIClient, book: LateLoan
) -> None:
    first = admin_api.post(payments_url(book), good_payment(), format="json", HTTP_IDEMPOTENCY_KEY="again")
    rows, money = row_counts(), money_totals()

    again = admin_api.post(payments_url(book), good_payment(), format="json", HTTP_IDEMPOTENCY_KEY="again")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert row_counts() == rows
    assert money_totals() == money
    assert money["payments"] == Decimal("150.00")


@pytest.mark.parametrize("path", ["/loans/{}/", "/borrowers/{}/", "/credit-lines/{}/", "/cases/{}/", "/models/{}/"])
@pytest.mark.parametrize("record_id", [0, 999999, HUGE_ID, 10**30])
def test_an_unknown_or_huge_id_in_a_path_is_a_404(admin_api: APIClient, path: str, record_id: int) -> None:
    response = admin_api.get(f"{API}{path.format(record_id)}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("page", ["0", "-1", "abc", str(HUGE_ID), "9" * 40])
def test_a_page_past_the_last_or_not_a_number_is_a_404(admin_api: APIClient, book: LateLoan, page: str) -> None:
    response = admin_api.get(f"{API}/loans/", {"page": page})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [({"borrower": "\x00"}, "borrower"), ({"status": "\x00"}, "status"), ({"bucket": "M1\x00"}, "bucket")],
)
def test_a_filter_with_a_nul_byte_is_a_400(
    admin_api: APIClient, book: LateLoan, query: dict[str, str], field: str
) -> None:
    response = admin_api.get(f"{API}/loans/", query)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_a_filter_by_an_id_past_bigint_finds_nothing(admin_api: APIClient, book: LateLoan) -> None:
    response = admin_api.get(f"{API}/loans/", {"borrower": str(HUGE_ID)})
    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (0, [])
