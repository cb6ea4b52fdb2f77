"""Login throttling (django-axes): a username from one address is locked out after AXES_FAILURE_LIMIT failures.

The web login and the API's token endpoint count the same failures; another user, or the same
user from another address, is not locked; an admin's reset lifts the lockout.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from riskdesk.core.models import AuditLog
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def web_login(address: str, username: str, password: str) -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=address)
    return client, client.post(reverse("login"), {"username": username, "password": password})


def api_login(address: str, username: str, password: str) -> object:
    # Each test its own address: the endpoint's per-address rate limit lives in the shared cache.
    return APIClient(REMOTE_ADDR=address).post(TOKEN_URL, {"username": username, "password": password}, format="json")


def fail_until_locked(login: object, address: str, username: str) -> list[int]:
    return [login(address, username, "wrong-password").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]


def test_the_web_login_locks_a_username_and_address_out_after_the_limit(users: dict[str, User]) -> None:
    statuses = [web_login("10.0.0.1", "collector", "wrong")[1].status_code for _ in range(settings.AXES_FAILURE_LIMIT)]

    # The limit-th failure already answers with the lockout; then even the right password is refused.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    client, response = web_login("10.0.0.1", "collector", "pw-collector")
    assert response.status_code == 429
    assert "Too many failed sign-ins for this username from your address" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The refused right password counts as one more failure.
    attempt = AccessAttempt.objects.get(username="collector", ip_address="10.0.0.1")
    assert attempt.failures_since_start == settings.AXES_FAILURE_LIMIT + 1


def test_the_lockout_page_speaks_chinese(users: dict[str, User]) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = Client(REMOTE_ADDR="10.0.0.9", HTTP_ACCEPT_LANGUAGE="zh-hans").post(
            reverse("login"), {"username": "collector", "password": "wrong"}
        )
    # The page in the reader's language, with the lockout as its alert (the message's Chinese is in locale/).
    assert response.status_code == 429
    assert 'lang="zh-hans"' in response.content.decode()
    assert '<div class="form-error" role="alert">' in response.content.decode()


def test_a_lockout_holds_only_that_username_from_that_address(users: dict[str, User]) -> None:
    fail_until_locked(lambda *a: web_login(*a)[1], "10.0.0.2", "collector")

    other_user, response = web_login("10.0.0.2", "risk_officer", "pw-risk_officer")
    assert response.status_code == 302
    assert other_user.session["_auth_user_id"] == str(users["risk_officer"].pk)
    other_address, response = web_login("10.0.0.3", "collector", "pw-collector")
    assert response.status_code == 302
    assert other_address.session["_auth_user_id"] == str(users["collector"].pk)


def test_a_reset_lifts_the_lockout(users: dict[str, User]) -> None:
    fail_until_locked(lambda *a: web_login(*a)[1], "10.0.0.4", "collector")
    assert web_login("10.0.0.4", "collector", "pw-collector")[1].status_code == 429

    assert reset(username="collector") == 1

    client, response = web_login("10.0.0.4", "collector", "pw-collector")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(users["collector"].pk)


def test_a_success_before_the_limit_clears_the_failures(users: dict[str, User]) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        web_login("10.0.0.5", "collector", "wrong")
    assert web_login("10.0.0.5", "collector", "pw-collector")[1].status_code == 302

    statuses = [web_login("10.0.0.5", "collector", "wrong")[1].status_code for _ in range(settings.AXES_FAILURE_LIMIT)]

    assert statuses[-1] == 429 and statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)


def test_the_token_endpoint_locks_out_in_the_error_shape(users: dict[str, User]) -> None:
    first = api_login("10.0.1.1", "collector", "wrong")
    assert first.status_code == 400
    assert first.json()["error"]["code"] == "invalid_credentials"
    statuses = [first.status_code] + [
        api_login("10.0.1.1", "collector", "wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT - 1)
    ]
    assert statuses == [400] * (settings.AXES_FAILURE_LIMIT - 1) + [429]

    response = api_login("10.0.1.1", "collector", "pw-collector")

    assert response.status_code == 429
    assert response.json() == {
        "error": {
            "code": "locked_out",
            "message": "Too many failed logins for this username from this address; try again later or ask an "
            "administrator.",
            "fields": {},
        }
    }
    assert not Token.objects.filter(user=users["collector"]).exists()
    # Another address, or another user, still gets a token.
    assert api_login("10.0.1.2", "collector", "pw-collector").status_code == 200
    assert api_login("10.0.1.1", "risk_officer", "pw-risk_officer").status_code == 200


def test_web_and_api_failures_count_together(users: dict[str, User]) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        web_login("10.0.1.3", "collector", "wrong")

    assert api_login("10.0.1.3", "collector", "wrong").status_code == 429
    assert web_login("10.0.1.3", "collector", "pw-collector")[1].status_code == 429


def test_the_admin_sees_and_deletes_lockouts(users: dict[str, User]) -> None:
    fail_until_locked(lambda *a: web_login(*a)[1], "10.0.1.4", "collector")
    attempt = AccessAttempt.objects.get(username="collector")
    admin = client_for(users["admin"])

    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "10.0.1.4" in listing.content.decode()
    response = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert AuditLog.objects.get(action="login_lockout_reset").actor == users["admin"]
    assert web_login("10.0.1.4", "collector", "pw-collector")[1].status_code == 302


def test_force_login_is_not_counted(users: dict[str, User]) -> None:
    response = client_for(users["collector"]).get(reverse("collections_queue"))

    assert response.status_code == 200
    assert not AccessAttempt.objects.exists()
