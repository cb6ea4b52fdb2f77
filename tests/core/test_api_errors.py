"""The API's error shape: every refusal is {"error": {"code", "message", "fields"}}, never a 500."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from riskdesk.core.models import AuditLog
from riskdesk.lending.models import Borrower, Product

API = "/api/v1"


@pytest.fixture
def admin_api(users: dict[str, User]) -> APIClient:
    client = APIClient()
    client.force_authenticate(users["admin"])
    return client


def error_of(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


def test_malformed_json_is_a_400_and_writes_nothing(admin_api: APIClient) -> None:
    before = (Product.objects.count(), AuditLog.objects.count())

    response = admin_api.post(f"{API}/products/", '{"code": "x", ', content_type="application/json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "malformed_json"
    assert error["message"].startswith("JSON parse error")
    assert (Product.objects.count(), AuditLog.objects.count()) == before


def test_a_json_body_that_is_not_an_object_is_a_400(admin_api: APIClient) -> None:
    response = admin_api.post(f"{API}/borrowers/", "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    assert Borrower.objects.count() == 0


def test_an_unsupported_media_type_is_a_415(admin_api: APIClient) -> None:
    response = admin_api.post(f"{API}/products/", "code=x", content_type="text/plain")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_a_wrong_method_is_a_405_with_allow(admin_api: APIClient) -> None:
    response = admin_api.delete(f"{API}/products/")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]


def test_an_unauthenticated_request_is_a_401_with_the_scheme(db: None) -> None:
    response = APIClient().get(f"{API}/products/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_api_path_is_a_404_in_the_error_shape(db: None) -> None:
    response = APIClient().get(f"{API}/no-such-thing/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_json_nested_past_the_stack_is_malformed_not_a_500(admin_api: APIClient) -> None:
    response = admin_api.post(f"{API}/credit-lines/", "[" * 50_000 + "]" * 50_000, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_a_body_over_the_upload_limit_is_a_413(admin_api: APIClient, borrower: Borrower) -> None:
    body = json.dumps({"borrower": borrower.pk, "limit": "1.00", "pad": "x" * 1_100_000})
    response = admin_api.post(f"{API}/credit-lines/", body, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


@pytest.mark.parametrize("borrower_id", ["1.5", "true", '"1.5"', '"one"', "[1]", "-1"])
def test_a_record_id_must_be_an_integer(admin_api: APIClient, borrower: Borrower, borrower_id: str) -> None:
    body = '{"borrower": ' + borrower_id + ', "limit": "1.00"}'
    response = admin_api.post(f"{API}/credit-lines/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["borrower"]


def test_password_guessing_on_one_username_is_locked_out(db: None) -> None:
    """django-axes answers the AXES_FAILURE_LIMIT-th failure for one username from one address."""
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    responses = [
        client.post(f"{API}/auth/token/", {"username": "admin", "password": f"guess-{n}"}, format="json")
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert [r.status_code for r in responses] == [400] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert [error_of(r)["code"] for r in responses[-2:]] == ["invalid_credentials", "locked_out"]


def test_password_guessing_across_usernames_is_throttled_per_address(db: None) -> None:
    """axes locks a username from an address; DRF's rate limit stops one address trying many usernames."""
    cache.clear()
    client = APIClient(REMOTE_ADDR="203.0.113.10")
    statuses = [
        client.post(f"{API}/auth/token/", {"username": f"user-{n}", "password": "guess"}, format="json").status_code
        for n in range(21)
    ]
    assert statuses == [400] * 20 + [429]
    response = client.post(f"{API}/auth/token/", {"username": "user-21", "password": "x"}, format="json")
    assert error_of(response)["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    cache.clear()
