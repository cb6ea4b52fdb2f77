"""The lending API, v1: each endpoint's happy path, its roles, and its refusals.

The business date is pinned to 2026-11-23 (tests/conftest.py). Loans here are built so
their amounts can be checked by hand: a 30-day bullet of 10,000.00 at 0.045 % a day
owes 135.00 interest at maturity and 99.00 after 22 days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.response import Response
from rest_framework.test import APIClient

from riskdesk import nightly
from riskdesk.core.models import AuditLog, JobRun
from riskdesk.lending import services
from riskdesk.lending.models import (
    AutodebitFailure,
    Borrower,
    CreditLine,
    GracePolicy,
    IncidentWindow,
    Loan,
    Payment,
    Product,
)

API = "/api/v1"
Client = Callable[[str], APIClient]


@pytest.fixture
def client_as(users: dict[str, User]) -> Client:
    """An API client logged in as the user of `role`."""

    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(users[role])
        return client

    return make


@pytest.fixture
def bullet(make_loan: Callable[..., Loan]) -> Loan:
    """10,000.00 for 30 days from 2026-11-01: due 2026-12-01 with 135.00 interest."""
    return make_loan(principal="10000.00", term=30, method="bullet", disbursed_on=date(2026, 11, 1))


def pay(client: APIClient, loan: Loan, key: str | None = "pay-1", **body: Any) -> Response:
    body = {"amount": "100.00", "value_date": "2026-11-23", "kind": "regular", "channel": "app", **body}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(f"{API}/loans/{loan.pk}/payments/", body, format="json", **headers)


def counts() -> tuple[int, int, int]:
    return Payment.objects.count(), Loan.objects.count(), AuditLog.objects.count()


def assert_error(response: Response, status: int, code: str, fields: list[str] | None = None) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if fields is not None:
        assert sorted(error["fields"]) == sorted(fields)


# -- authentication and roles -----------------------------------------------------------------


def test_a_token_from_username_and_password_authenticates_later_requests(users: dict[str, User], bullet: Loan) -> None:
    client = APIClient()
    response = client.post(
        f"{API}/auth/token/", {"username": "risk_officer", "password": "pw-risk_officer"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    loan = client.get(f"{API}/loans/{bullet.pk}/")

    assert loan.status_code == 200
    assert loan.json()["principal"] == "10000.00"


def test_bad_credentials_are_a_400_in_the_error_shape(users: dict[str, User]) -> None:
    response = APIClient().post(f"{API}/auth/token/", {"username": "collector", "password": "nope"}, format="json")
    assert_error(response, 400, "invalid_credentials", [])


def test_a_token_request_without_password_names_the_field(users: dict[str, User]) -> None:
    response = APIClient().post(f"{API}/auth/token/", {"username": "collector"}, format="json")
    assert_error(response, 400, "invalid", ["password"])


def test_no_credentials_is_401_and_a_bad_token_is_401(bullet: Loan) -> None:
    assert_error(APIClient().get(f"{API}/loans/{bullet.pk}/"), 401, "not_authenticated")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert_error(client.get(f"{API}/loans/{bullet.pk}/"), 401, "authentication_failed")


def test_a_user_without_a_role_is_refused(db: None, bullet: Loan) -> None:
    client = APIClient()
    client.force_authenticate(User.objects.create_user(username="nobody", password="x"))
    assert_error(client.get(f"{API}/loans/{bullet.pk}/"), 403, "permission_denied")


def test_a_collector_cannot_draw_a_loan(client_as: Client, credit_line: CreditLine, product: Product) -> None:
    before = counts()
    body = {
        "credit_line": credit_line.pk,
        "product": product.pk,
        "principal": "1000.00",
        "term": 3,
        "method": "equal_principal",
        "disbursed_on": "2026-11-23",
    }
    assert_error(client_as("collector").post(f"{API}/loans/", body, format="json"), 403, "permission_denied")
    assert counts() == before


# -- products -------------------------------------------------------------------------------------

PRODUCT = {
    "code": "quick-cash",
    "name": "Quick cash",
    "daily_rate": "0.0005",
    "penalty_multiplier": "1.5",
    "penalty_base": "principal",
    "methods": ["bullet", "equal_principal"],
    "terms": [30, 3, 6],
    "min_amount": "100.00",
    "max_amount": "5000.00",
}


def test_an_admin_adds_a_product_and_every_role_reads_it(client_as: Client) -> None:
    response = client_as("admin").post(f"{API}/products/", PRODUCT, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["daily_rate"] == "0.000500"
    assert body["penalty_multiplier"] == "1.500"
    assert body["terms"] == [3, 6, 30]
    assert body["min_amount"] == "100.00"
    assert AuditLog.objects.filter(action="product.create", entity_id=str(body["id"])).count() == 1
    listing = client_as("collector").get(f"{API}/products/")
    assert listing.status_code == 200
    assert [p["code"] for p in listing.json()["results"]] == ["quick-cash"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"methods": ["bullet", "balloon"]}, "methods"),
        ({"methods": []}, "methods"),
        ({"terms": [3, 0]}, "terms"),
        ({"terms": ["three"]}, "terms"),
        ({"min_amount": "6000.00"}, "max_amount"),
        ({"daily_rate": "0.011"}, "daily_rate"),
        ({"daily_rate": "-0.0001"}, "daily_rate"),
        ({"daily_rate": 0.0005}, None),
        ({"code": "has space"}, "code"),
    ],
)
def test_a_product_is_validated(client_as: Client, change: dict[str, Any], field: str | None) -> None:
    response = client_as("admin").post(f"{API}/products/", {**PRODUCT, **change}, format="json")
    if field is None:  # a JSON number is read as its decimal text, never through binary float
        assert response.status_code == 201
        assert Product.objects.get().daily_rate == Decimal("0.0005")
        return
    assert_error(response, 400, "invalid", [field])
    assert Product.objects.count() == 0


def test_a_product_code_is_unique(client_as: Client, product: Product) -> None:
    response = client_as("admin").post(f"{API}/products/", {**PRODUCT, "code": product.code}, format="json")
    assert_error(response, 409, "product_exists", ["code"])


def test_only_an_admin_adds_a_product(client_as: Client) -> None:
    assert_error(client_as("risk_officer").post(f"{API}/products/", PRODUCT, format="json"), 403, "permission_denied")
    assert Product.objects.count() == 0


# -- borrowers --------------------------------------------------------------------------------------

BORROWER = {
    "name": "李四",
    "national_id": "310101198502023456",
    "phones": [{"number": "13912345678", "label": "mobile"}, {"number": "02112345678", "label": "home"}],
    "email": "lisi@example.com",
    "timezone": "Asia/Shanghai",
    "language": "zh-hans",
    "emergency_contacts": [{"name": "王五", "phone": "13700001111", "relationship": "sibling", "consent": True}],
}


def test_an_admin_registers_a_borrower_and_sees_the_identity_masked(client_as: Client) -> None:
    """Unmasking is a reveal, audited (BorrowerRevealApi): the registration's answer is masked too."""
    response = client_as("admin").post(f"{API}/borrowers/", BORROWER, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "李**"
    assert body["national_id"] == "310*************56"
    assert body["pii_masked"] is True
    points = [(p["kind"], p["value"], p["label"], p["verification"], p["status"]) for p in body["contact_points"]]
    assert points == [
        ("phone", "139****5678", "mobile", "unverified", "active"),
        ("phone", "021****5678", "home", "unverified", "active"),
        ("email", "l***@example.com", "email", "unverified", "active"),
        ("app", f"app:{body['id']}", "app", "unverified", "active"),
    ]
    assert all(isinstance(p["id"], int) for p in body["contact_points"])
    assert body["emergency_contacts"][0]["phone"] == "137****1111"
    assert Borrower.objects.get(pk=body["id"]).national_id == "310101198502023456"


def test_a_risk_officer_sees_the_borrower_masked(client_as: Client, borrower: Borrower) -> None:
    body = client_as("risk_officer").get(f"{API}/borrowers/{borrower.pk}/").json()

    assert body["pii_masked"] is True
    assert body["name"] == "张**"
    assert body["national_id"] == "110*************34"
    assert body["email"] == "z***@example.com"
    values = {p["kind"]: p["value"] for p in body["contact_points"]}
    assert values["phone"] == "138****8000"
    assert values["email"] == "z***@example.com"
    assert "13800138000" not in str(body) and "110101199001011234" not in str(body)


def test_a_supervisor_sees_the_identity_masked_too(client_as: Client, borrower: Borrower) -> None:
    assert client_as("collections_supervisor").get(f"{API}/borrowers/{borrower.pk}/").json()["name"] == "张**"
    assert client_as("risk_officer").get(f"{API}/borrowers/{borrower.pk}/").json()["name"] == "张**"


def test_emergency_contact_phones_are_masked_for_a_risk_officer(client_as: Client) -> None:
    borrower_id = client_as("admin").post(f"{API}/borrowers/", BORROWER, format="json").json()["id"]
    contact = client_as("risk_officer").get(f"{API}/borrowers/{borrower_id}/").json()["emergency_contacts"][0]
    assert contact["phone"] == "137****1111"
    assert contact["name"] == "王**"
    assert contact["relationship"] == "sibling"


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"phones": [{"number": "13912345678"}, {"number": "13912345678"}]}, 400, "invalid", "phones"),
        ({"phones": [{"number": "call me"}]}, 400, "invalid", "phones"),
        ({"email": "not-an-email"}, 400, "invalid", "email"),
        ({"language": "fr"}, 400, "invalid", "language"),
        ({"timezone": "Mars/Olympus"}, 422, "invalid_timezone", "timezone"),
        (
            {"emergency_contacts": [{"name": "王五", "phone": "13700001111", "relationship": "x", "consent": False}]},
            422,
            "consent_required",
            "emergency_contacts",
        ),
        ({"national_id": "110101199001011234"}, 409, "borrower_exists", "national_id"),
    ],
)
def test_a_borrower_registration_is_refused_whole(
    client_as: Client, borrower: Borrower, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    before = (Borrower.objects.count(), AuditLog.objects.count())
    response = client_as("admin").post(f"{API}/borrowers/", {**BORROWER, **change}, format="json")
    assert_error(response, status, code, [field])
    assert (Borrower.objects.count(), AuditLog.objects.count()) == before


def test_an_unknown_borrower_is_404(client_as: Client, db: None) -> None:
    assert_error(client_as("admin").get(f"{API}/borrowers/424242/"), 404, "not_found")
    assert_error(client_as("admin").get(f"{API}/borrowers/99999999999999999999/"), 404, "not_found")


# -- credit lines -----------------------------------------------------------------------------------


def test_an_admin_opens_a_credit_line(client_as: Client, borrower: Borrower) -> None:
    response = client_as("admin").post(
        f"{API}/credit-lines/", {"borrower": borrower.pk, "limit": "50000"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["limit"], body["available"], body["frozen_message"]) == (
        "active",
        "50000.00",
        "50000.00",
        None,
    )
    assert body["freeze_reasons"] == [
        {
            "on": "2026-11-23",
            "kind": "opened",
            "reason": "opened",
            "unfreeze_on": None,
            "limit_before": None,
            "limit_after": "50000.00",
        }
    ]


def test_a_limit_change_shows_its_amounts_and_reason(client_as: Client, credit_line: CreditLine) -> None:
    services.credit_line_change_limit(credit_line=credit_line, limit=Decimal("70000.00"), reason="risk_band_downgrade")

    body = client_as("risk_officer").get(f"{API}/credit-lines/{credit_line.pk}/").json()

    assert body["limit"] == "70000.00"
    assert body["freeze_reasons"][-1] == {
        "on": "2026-11-23",
        "kind": "limit_change",
        "reason": "risk_band_downgrade",
        "unfreeze_on": None,
        "limit_before": "100000.00",
        "limit_after": "70000.00",
    }


def test_a_credit_line_shows_what_is_drawn(client_as: Client, credit_line: CreditLine, bullet: Loan) -> None:
    body = client_as("risk_officer").get(f"{API}/credit-lines/{credit_line.pk}/").json()
    assert (body["limit"], body["available"]) == ("100000.00", "90000.00")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"borrower": 424242, "limit": "1000.00"}, 400, "invalid", "borrower"),
        ({"borrower": "abc", "limit": "1000.00"}, 400, "invalid", "borrower"),
        ({"borrower": None, "limit": "1000.00"}, 400, "invalid", "borrower"),
        ({"limit": "12.345"}, 400, "invalid", "limit"),
        ({"limit": "1e20"}, 400, "invalid", "limit"),
        ({"limit": "NaN"}, 400, "invalid", "limit"),
        ({"limit": [1]}, 400, "invalid", "limit"),
        ({"limit": "-5.00"}, 422, "invalid_amount", "limit"),
        ({"limit": "100000000.01"}, 422, "invalid_amount", "limit"),
    ],
)
def test_a_credit_line_with_bad_input_is_refused(
    client_as: Client, borrower: Borrower, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    before = (CreditLine.objects.count(), AuditLog.objects.count())
    response = client_as("admin").post(f"{API}/credit-lines/", {"borrower": borrower.pk, **body}, format="json")
    assert_error(response, status, code, [field])
    assert (CreditLine.objects.count(), AuditLog.objects.count()) == before


def test_a_frozen_line_says_why_and_refuses_a_drawdown(
    client_as: Client, credit_line: CreditLine, product: Product
) -> None:
    CreditLine.objects.filter(pk=credit_line.pk).update(status="frozen", freeze_reason="manual", frozen_on="2026-11-20")
    before = counts()

    response = client_as("admin").post(
        f"{API}/loans/",
        {
            "credit_line": credit_line.pk,
            "product": product.pk,
            "principal": "1000.00",
            "term": 3,
            "method": "equal_principal",
            "disbursed_on": "2026-11-23",
        },
        format="json",
    )

    message = "The credit line is frozen (frozen by the desk) since 2026-11-20."
    assert_error(response, 422, "credit_line_frozen", ["credit_line"])
    assert response.json()["error"]["message"] == message
    assert counts() == before
    line = client_as("risk_officer").get(f"{API}/credit-lines/{credit_line.pk}/").json()
    assert (line["status"], line["available"], line["frozen_message"]) == ("frozen", "0.00", message)


# -- loans --------------------------------------------------------------------------------------------


def test_an_admin_draws_a_loan_and_gets_its_schedule(
    client_as: Client, credit_line: CreditLine, product: Product
) -> None:
    response = client_as("admin").post(
        f"{API}/loans/",
        {
            "credit_line": credit_line.pk,
            "product": product.pk,
            "principal": "3000.00",
            "term": 3,
            "method": "equal_principal",
            "disbursed_on": "2026-08-23",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["outstanding_principal"], body["daily_rate"], body["annual_rate"]) == (
        "active",
        "3000.00",
        "0.000450",
        "0.164250",
    )
    # Interest O_k x r x d_k: 3000 x 31 days, 2000 x 30, 1000 x 31 at 0.00045.
    schedule = [
        (s["seq"], s["due_date"], s["principal_due"], s["interest_due"], s["grace_end"], s["status"])
        for s in body["schedule"]
    ]
    assert schedule == [
        (1, "2026-09-23", "1000.00", "41.85", "2026-09-26", "overdue"),
        (2, "2026-10-23", "1000.00", "27.00", "2026-10-26", "overdue"),
        (3, "2026-11-23", "1000.00", "13.95", "2026-11-26", "due"),
    ]
    assert body["schedule"][0]["principal_paid"] == "0.00"
    assert Loan.objects.get(pk=body["id"]).principal == Decimal("3000.00")
    assert AuditLog.objects.filter(action="loan.originate", entity_id=str(body["id"])).count() == 1


def test_a_loan_reads_its_delinquency(client_as: Client, bullet: Loan) -> None:
    body = client_as("risk_officer").get(f"{API}/loans/{bullet.pk}/").json()

    assert {k: body[k] for k in ("dpd", "bucket", "in_grace", "grace_end", "overdue_amount", "penalty_accrued")} == {
        "dpd": 0,
        "bucket": "M0",
        "in_grace": False,
        "grace_end": None,
        "overdue_amount": "0.00",
        "penalty_accrued": "0.00",
    }
    assert body["dpd_explanation"] == "Current: no installment is past due beyond the arrears tolerance."
    assert [(s["due_date"], s["interest_due"], s["status"]) for s in body["schedule"]] == [
        ("2026-12-01", "135.00", "scheduled")
    ]


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"credit_line": 424242}, 400, "invalid", "credit_line"),
        ({"product": "jiebei"}, 400, "invalid", "product"),
        ({"principal": "abc"}, 400, "invalid", "principal"),
        ({"principal": 10.001}, 400, "invalid", "principal"),
        ({"term": 0}, 400, "invalid", "term"),
        ({"term": "x"}, 400, "invalid", "term"),
        ({"method": "balloon"}, 400, "invalid", "method"),
        ({"disbursed_on": "2026-02-30"}, 400, "invalid", "disbursed_on"),
        ({"disbursed_on": "2026-11-24"}, 422, "future_date", "disbursed_on"),
        ({"principal": "-1000.00"}, 422, "invalid_amount", "principal"),
        ({"principal": "999999999999.99"}, 422, "invalid_amount", "principal"),
        ({"principal": "250000.00"}, 422, "principal_out_of_range", "principal"),
        ({"term": 5}, 422, "term_not_offered", "term"),
    ],
)
def test_a_drawdown_with_bad_input_writes_nothing(
    client_as: Client,
    credit_line: CreditLine,
    product: Product,
    change: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    body = {
        "credit_line": credit_line.pk,
        "product": product.pk,
        "principal": "1000.00",
        "term": 3,
        "method": "equal_principal",
        "disbursed_on": "2026-11-23",
        **change,
    }
    before = counts()
    assert_error(client_as("admin").post(f"{API}/loans/", body, format="json"), status, code, [field])
    assert counts() == before


def test_loans_are_listed_by_status_bucket_and_borrower(
    client_as: Client, make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    first = make_loan(principal="1000.00", term=3, method="equal_principal", disbursed_on=date(2026, 11, 1))
    second = make_loan(principal="2000.00", term=3, method="equal_principal", disbursed_on=date(2026, 11, 2))
    Loan.objects.filter(pk=first.pk).update(status="paid_off")
    client = client_as("risk_officer")

    everything = client.get(f"{API}/loans/").json()
    assert everything["count"] == 2
    assert [loan["id"] for loan in everything["results"]] == [second.pk, first.pk]
    assert [loan["id"] for loan in client.get(f"{API}/loans/?status=paid_off").json()["results"]] == [first.pk]
    assert client.get(f"{API}/loans/?bucket=M1").json()["count"] == 0
    assert client.get(f"{API}/loans/?borrower={borrower.pk}").json()["count"] == 2
    assert client.get(f"{API}/loans/?borrower=424242").json()["count"] == 0
    assert_error(client.get(f"{API}/loans/?status=late"), 400, "invalid", ["status"])
    assert_error(client.get(f"{API}/loans/?borrower=me"), 400, "invalid", ["borrower"])


# -- payoff quote ------------------------------------------------------------------------------------


def test_a_payoff_quote_carries_interest_to_the_day(client_as: Client, bullet: Loan) -> None:
    response = client_as("risk_officer").get(f"{API}/loans/{bullet.pk}/payoff-quote/")

    assert response.status_code == 200
    # 22 days of 10,000.00 at 0.045 %: 99.00.
    assert response.json() == {
        "on": "2026-11-23",
        "total": "10099.00",
        "principal": "10000.00",
        "interest": "99.00",
        "penalty": "0.00",
        "overdue": "0.00",
    }
    on_tenth = client_as("risk_officer").get(f"{API}/loans/{bullet.pk}/payoff-quote/?on=2026-11-10").json()
    assert (on_tenth["on"], on_tenth["total"]) == ("2026-11-10", "10040.50")


def test_a_payoff_quote_needs_a_date_on_or_after_disbursement(client_as: Client, bullet: Loan) -> None:
    client = client_as("risk_officer")
    assert_error(client.get(f"{API}/loans/{bullet.pk}/payoff-quote/?on=2026-10-31"), 422, "date_before_disbursement")
    assert_error(client.get(f"{API}/loans/{bullet.pk}/payoff-quote/?on=2026-13-01"), 400, "invalid", ["on"])
    assert_error(client.get(f"{API}/loans/424242/payoff-quote/"), 404, "not_found")


# -- payments ------------------------------------------------------------------------------------------


def test_a_supervisor_posts_a_payment_and_sees_its_allocation(client_as: Client, bullet: Loan) -> None:
    response = pay(client_as("collections_supervisor"), bullet, amount="100.00", reference="bank-ref-1")

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("amount", "value_date", "kind", "channel", "reference", "status", "unapplied")} == {
        "amount": "100.00",
        "value_date": "2026-11-23",
        "kind": "regular",
        "channel": "app",
        "reference": "bank-ref-1",
        "status": "posted",
        "unapplied": "0.00",
    }
    # Nothing is due yet: the money pays the next installment, interest before principal.
    assert body["allocation"] == [{"seq": 1, "penalty": "0.00", "interest": "100.00", "principal": "0.00"}]
    listing = client_as("risk_officer").get(f"{API}/loans/{bullet.pk}/payments/").json()
    assert [p["id"] for p in listing["results"]] == [body["id"]]


def test_the_same_idempotency_key_and_body_returns_the_original_payment(client_as: Client, bullet: Loan) -> None:
    client = client_as("admin")
    first = pay(client, bullet, key="autodebit-7", amount="100.00")
    before = counts()

    again = pay(client, bullet, key="autodebit-7", amount="100")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert counts() == before


def test_the_same_idempotency_key_with_another_body_is_a_conflict(client_as: Client, bullet: Loan) -> None:
    client = client_as("admin")
    pay(client, bullet, key="autodebit-8", amount="100.00")
    before = counts()

    response = pay(client, bullet, key="autodebit-8", amount="200.00")

    assert_error(response, 409, "idempotency_key_reused", ["Idempotency-Key"])
    assert counts() == before


@pytest.mark.parametrize("key", [None, "", "   ", "k" * 129])
def test_a_payment_needs_an_idempotency_key(client_as: Client, bullet: Loan, key: str | None) -> None:
    before = counts()
    assert_error(pay(client_as("admin"), bullet, key=key), 400, "invalid", ["Idempotency-Key"])
    assert counts() == before


def test_a_regular_payment_beyond_the_next_installment_is_refused(client_as: Client, bullet: Loan) -> None:
    before = counts()

    response = pay(client_as("admin"), bullet, amount="10135.01")

    assert_error(response, 422, "exceeds_regular", ["amount"])
    assert "10135.00" in response.json()["error"]["message"]
    assert counts() == before


def test_paying_the_quoted_amount_as_payoff_settles_the_loan(client_as: Client, bullet: Loan) -> None:
    client = client_as("admin")
    total = client.get(f"{API}/loans/{bullet.pk}/payoff-quote/").json()["total"]

    response = pay(client, bullet, key="payoff-1", amount=total, kind="payoff", channel="bank_transfer")

    assert response.status_code == 201
    assert response.json()["allocation"] == [
        {"seq": 1, "penalty": "0.00", "interest": "99.00", "principal": "10000.00"}
    ]
    loan = client.get(f"{API}/loans/{bullet.pk}/").json()
    assert (loan["status"], loan["outstanding_principal"]) == ("paid_off", "0.00")
    assert loan["dpd_explanation"] == "Paid off on 2026-11-23."
    assert client.get(f"{API}/credit-lines/{bullet.credit_line_id}/").json()["available"] == "100000.00"


def test_a_payoff_short_of_the_quote_is_refused(client_as: Client, bullet: Loan) -> None:
    before = counts()
    response = pay(client_as("admin"), bullet, amount="10098.99", kind="payoff")
    assert_error(response, 422, "payoff_amount_mismatch", ["amount"])
    assert counts() == before


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"value_date": "2026-11-24"}, 422, "future_value_date", "value_date"),
        ({"value_date": "2026-10-31"}, 422, "value_date_before_disbursement", "value_date"),
        ({"value_date": "23/11/2026"}, 400, "invalid", "value_date"),
        ({"amount": "0.00"}, 422, "invalid_amount", "amount"),
        ({"amount": "-50.00"}, 422, "invalid_amount", "amount"),
        ({"amount": "100000000000.00"}, 422, "invalid_amount", "amount"),
        ({"amount": "1e15"}, 400, "invalid", "amount"),
        ({"amount": None}, 400, "invalid", "amount"),
        ({"amount": True}, 400, "invalid", "amount"),
        ({"kind": "gift"}, 400, "invalid", "kind"),
        ({"channel": "pigeon"}, 400, "invalid", "channel"),
        ({"reference": "r" * 65}, 400, "invalid", "reference"),
    ],
)
def test_a_payment_with_bad_input_writes_nothing(
    client_as: Client, bullet: Loan, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    before = counts()
    assert_error(pay(client_as("admin"), bullet, **change), status, code, [field])
    assert counts() == before


def test_a_collector_cannot_post_a_payment(client_as: Client, bullet: Loan) -> None:
    before = counts()
    assert_error(pay(client_as("collector"), bullet), 403, "permission_denied")
    assert counts() == before


def test_a_payment_to_an_unknown_loan_is_404(client_as: Client, db: None) -> None:
    response = APIClient()
    client = client_as("admin")
    response = client.post(
        f"{API}/loans/424242/payments/",
        {"amount": "1.00", "value_date": "2026-11-23", "kind": "regular", "channel": "app"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert_error(response, 404, "not_found")


def test_a_reversed_payment_gives_the_money_back_to_the_schedule(client_as: Client, bullet: Loan) -> None:
    client = client_as("admin")
    payment_id = pay(client, bullet, amount="100.00").json()["id"]

    response = client.post(f"{API}/payments/{payment_id}/reverse/", {"reason": "autodebit bounced"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reversal_reason"], body["allocation"]) == ("reversed", "autodebit bounced", [])
    assert client.get(f"{API}/loans/{bullet.pk}/").json()["schedule"][0]["interest_paid"] == "0.00"
    assert AuditLog.objects.filter(action="payment.reverse", entity_id=str(payment_id)).count() == 1
    again = client.post(f"{API}/payments/{payment_id}/reverse/", {"reason": "twice"}, format="json")
    assert_error(again, 409, "already_reversed")


def test_a_reversal_needs_a_reason_and_an_admin(client_as: Client, bullet: Loan) -> None:
    payment_id = pay(client_as("admin"), bullet).json()["id"]
    url = f"{API}/payments/{payment_id}/reverse/"
    assert_error(client_as("admin").post(url, {}, format="json"), 400, "invalid", ["reason"])
    assert_error(
        client_as("collections_supervisor").post(url, {"reason": "x"}, format="json"), 403, "permission_denied"
    )
    assert_error(
        client_as("admin").post(f"{API}/payments/424242/reverse/", {"reason": "x"}, format="json"), 404, "not_found"
    )
    assert Payment.objects.get(pk=payment_id).status == "posted"


def test_a_failed_autodebit_is_recorded_with_its_cause(client_as: Client, bullet: Loan) -> None:
    response = client_as("admin").post(
        f"{API}/loans/{bullet.pk}/autodebit-failures/",
        {"attempted_on": "2026-11-20", "amount": "135.00", "cause": "lender_outage"},
        format="json",
    )

    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("loan", "attempted_on", "amount", "cause")} == {
        "loan": bullet.pk,
        "attempted_on": "2026-11-20",
        "amount": "135.00",
        "cause": "lender_outage",
    }
    bad = client_as("admin").post(
        f"{API}/loans/{bullet.pk}/autodebit-failures/",
        {"attempted_on": "2026-11-20", "amount": "135.00", "cause": "gremlins"},
        format="json",
    )
    assert_error(bad, 400, "invalid", ["cause"])
    assert AutodebitFailure.objects.count() == 1


# -- grace policies and incident windows ---------------------------------------------------------------


def test_an_admin_adds_a_grace_policy_version(client_as: Client, product: Product) -> None:
    client = client_as("admin")
    body = {
        "product": product.pk,
        "effective_from": "2026-12-01",
        "grace_days": 5,
        "penalty_start": "grace_end",
        "arrears_tolerance": "2.50",
        "bureau_report_after_days": 60,
        "cooling_off_days": 15,
        "case_open_after_days": 2,
        "note": "holiday season",
    }

    response = client.post(f"{API}/grace-policies/", body, format="json")

    assert response.status_code == 201
    created = response.json()
    assert {k: created[k] for k in body} == body
    policy = GracePolicy.objects.get(pk=created["id"])
    assert (policy.arrears_tolerance, policy.created_by.username) == (Decimal("2.50"), "admin")
    listed = [p["id"] for p in client.get(f"{API}/grace-policies/").json()["results"]]
    assert created["id"] in listed
    again = client.post(f"{API}/grace-policies/", body, format="json")
    assert_error(again, 409, "policy_version_exists", ["effective_from"])


def test_a_grace_policy_for_every_product_and_its_refusals(client_as: Client, db: None) -> None:
    client = client_as("admin")
    response = client.post(f"{API}/grace-policies/", {"product": None, "effective_from": "2027-01-01"}, format="json")
    assert response.status_code == 201
    assert (response.json()["product"], response.json()["grace_days"]) == (None, 3)
    before = GracePolicy.objects.count()
    too_long = client.post(f"{API}/grace-policies/", {"effective_from": "2027-02-01", "grace_days": 31}, format="json")
    assert_error(too_long, 400, "invalid", ["grace_days"])
    unknown = client.post(f"{API}/grace-policies/", {"effective_from": "2027-02-01", "product": 424242}, format="json")
    assert_error(unknown, 400, "invalid", ["product"])
    assert_error(client_as("risk_officer").get(f"{API}/grace-policies/"), 403, "permission_denied")
    assert GracePolicy.objects.count() == before


def test_an_incident_window_gives_extra_grace_to_installments_due_inside(
    client_as: Client, make_loan: Callable[..., Loan]
) -> None:
    loan = make_loan(principal="3000.00", term=3, method="equal_principal", disbursed_on=date(2026, 8, 23))
    client = client_as("admin")

    response = client.post(
        f"{API}/incident-windows/",
        {"product": None, "start": "2026-10-20", "end": "2026-10-25", "extra_grace_days": 4, "reason": "bank outage"},
        format="json",
    )

    assert response.status_code == 201
    assert (response.json()["extra_grace_days"], response.json()["reason"]) == (4, "bank outage")
    schedule = client.get(f"{API}/loans/{loan.pk}/").json()["schedule"]
    assert [s["grace_end"] for s in schedule] == ["2026-09-26", "2026-10-30", "2026-11-26"]
    assert [w["id"] for w in client.get(f"{API}/incident-windows/").json()["results"]] == [response.json()["id"]]


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"end": "2026-10-19"}, 422, "invalid_window", "end"),
        ({"extra_grace_days": 0}, 422, "invalid_extra_grace_days", "extra_grace_days"),
        ({"extra_grace_days": 31}, 422, "invalid_extra_grace_days", "extra_grace_days"),
        ({"reason": ""}, 400, "invalid", "reason"),
        ({"start": "yesterday"}, 400, "invalid", "start"),
    ],
)
def test_an_incident_window_with_bad_input_is_refused(
    client_as: Client, db: None, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    body = {"start": "2026-10-20", "end": "2026-10-25", "extra_grace_days": 2, "reason": "bank outage", **change}
    assert_error(client_as("admin").post(f"{API}/incident-windows/", body, format="json"), status, code, [field])
    assert IncidentWindow.objects.count() == 0


# -- operations ---------------------------------------------------------------------------------------


def test_an_admin_closes_the_days_and_reads_the_job_runs(client_as: Client, bullet: Loan) -> None:
    response = client_as("admin").post(f"{API}/operations/close-day/", {"as_of": "2026-11-22"}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["as_of"] == "2026-11-22"
    assert body["closed_days"][0] == "2026-11-01" and body["closed_days"][-1] == "2026-11-22"
    assert len(body["closed_days"]) == 22
    runs = client_as("risk_officer").get(f"{API}/operations/job-runs/?business_date=2026-11-22").json()
    assert sorted((r["step"], r["status"], r["business_date"]) for r in runs["results"]) == sorted(
        (step.name, "done", "2026-11-22") for step in nightly.STEPS
    )
    assert runs["results"][0]["chunks_done"] == runs["results"][0]["chunks_total"]
    again = client_as("admin").post(f"{API}/operations/close-day/", {"as_of": "2026-11-22"}, format="json")
    assert (again.status_code, again.json()["closed_days"]) == (202, [])


def test_a_night_stopped_by_a_book_breach_is_a_409_naming_the_step_and_a_rerun_after_the_fix_closes(
    client_as: Client, bullet: Loan
) -> None:
    admin = client_as("admin")
    assert admin.post(f"{API}/operations/close-day/", {"as_of": "2026-11-05"}, format="json").status_code == 202
    Loan.objects.filter(pk=bullet.pk).update(principal=Decimal("10000.01"))

    response = admin.post(f"{API}/operations/close-day/", {"as_of": "2026-11-22"}, format="json")

    assert_error(response, 409, "close_day_failed", [])
    error = response.json()["error"]
    assert (error["step"], error["business_date"]) == ("lending.audit_book", "2026-11-06")
    assert error["message"] == (
        "Close of day stopped at step lending.audit_book of 2026-11-06 (BookOutOfBalance): "
        "audit_book as of 2026-11-06: 1 loans, 1 rule(s) broken:"
    )
    assert nightly.last_closed_day() == date(2026, 11, 5)
    run = JobRun.objects.get(step="lending.audit_book", business_date=date(2026, 11, 6))
    assert run.status == "failed" and "schedule_principal" in run.error
    Loan.objects.filter(pk=bullet.pk).update(principal=Decimal("10000.00"))
    again = admin.post(f"{API}/operations/close-day/", {"as_of": "2026-11-22"}, format="json")
    assert (again.status_code, again.json()["closed_days"][0], len(again.json()["closed_days"])) == (
        202,
        "2026-11-06",
        17,
    )
    bullet.refresh_from_db()
    assert (bullet.principal, bullet.outstanding_principal) == (Decimal("10000.00"), Decimal("10000.00"))


def test_today_cannot_be_closed_and_only_an_admin_closes(client_as: Client, bullet: Loan) -> None:
    response = client_as("admin").post(f"{API}/operations/close-day/", {"as_of": "2026-11-23"}, format="json")
    assert_error(response, 422, "day_not_over", ["as_of"])
    assert JobRun.objects.count() == 0
    denied = client_as("risk_officer").post(f"{API}/operations/close-day/", {"as_of": "2026-11-22"}, format="json")
    assert_error(denied, 403, "permission_denied")
    assert_error(client_as("collector").get(f"{API}/operations/job-runs/"), 403, "permission_denied")
    assert_error(
        client_as("admin").get(f"{API}/operations/job-runs/?business_date=soon"), 400, "invalid", ["business_date"]
    )


# -- the schema and docs --------------------------------------------------------------------------------


def test_the_openapi_schema_and_the_docs_are_served(client_as: Client) -> None:
    schema = client_as("collector").get(f"{API}/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/loans/{loan_id}/payments/" in paths
    assert "Idempotency-Key" in str(paths["/api/v1/loans/{loan_id}/payments/"]["post"]["parameters"])

    docs = client_as("collector").get(f"{API}/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()
