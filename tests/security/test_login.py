"""Login throttling (django-axes): a username from one address is locked out after AXES_FAILURE_LIMIT failures.

The web login and the API's token endpoint count the same failures; another user, or the same
user from another address, is not locked; an admin's reset lifts the lockout. Behind the
production profile's proxy the address is the one the proxy saw, not the client's claim.
API tokens expire after API_TOKEN_AGE_SECONDS; the token endpoint replaces an expired one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from riskdesk.core.models import AuditLog
from riskdesk.lockout import client_address
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


# -- the client's address behind the proxy ---------------------------------------------------------------------

PROXY = "10.8.0.1"


def login_through_proxy(forwarded_for: str, username: str, password: str) -> int:
    """A web login as the production profile's TLS proxy passes it on: the proxy appends the address it saw."""
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    return client.post(reverse("login"), {"username": username, "password": password}).status_code


@override_settings(TRUSTED_PROXIES=1)
def test_behind_the_proxy_a_forged_forwarded_for_does_not_escape_the_lockout(users: dict[str, User]) -> None:
    """The address was the first of X-Forwarded-For, the client's own claim (fixed: the one the proxy appended)."""
    statuses = [
        login_through_proxy(f"198.51.100.{n}, 203.0.113.7", "collector", "wrong")
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert list(AccessAttempt.objects.values_list("username", "ip_address")) == [("collector", "203.0.113.7")]
    assert login_through_proxy("192.0.2.99, 203.0.113.7", "collector", "pw-collector") == 429


@override_settings(TRUSTED_PROXIES=1)
def test_two_clients_behind_the_proxy_are_not_locked_together(users: dict[str, User]) -> None:
    """Every client was REMOTE_ADDR, the proxy's: five guesses locked the username for everyone (fixed)."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login_through_proxy("203.0.113.7", "collector", "wrong")

    assert login_through_proxy("203.0.113.7", "collector", "pw-collector") == 429
    assert login_through_proxy("203.0.113.8", "collector", "pw-collector") == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "address"),
    [
        (0, "198.51.100.1", "10.8.0.1"),  # no proxy: a client's header is ignored
        (1, None, "10.8.0.1"),  # not through the proxy
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        (2, "198.51.100.1, 203.0.113.7, 10.8.0.9", "203.0.113.7"),
        (2, "203.0.113.7", "203.0.113.7"),  # fewer entries than proxies: the left-most there is
        (1, "198.51.100.1, not-an-address", "10.8.0.1"),
        (1, "2001:db8::7", "2001:db8::7"),
    ],
)
def test_the_client_address_is_the_entry_the_outermost_proxy_appended(
    proxies: int, forwarded_for: str | None, address: str
) -> None:
    meta = {"REMOTE_ADDR": PROXY} | ({"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {})
    with override_settings(TRUSTED_PROXIES=proxies):
        assert client_address(RequestFactory().get("/", **meta)) == address


def test_the_token_rate_limit_reads_the_address_as_the_lockout_does(db: None) -> None:
    """DRF keyed the limit on the whole X-Forwarded-For: a new forged entry, a fresh allowance (fixed)."""
    cache.clear()
    with override_settings(TRUSTED_PROXIES=1, REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        statuses = [
            APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.20")
            .post(TOKEN_URL, {"username": f"user-{n}", "password": "guess"}, format="json")
            .status_code
            for n in range(21)
        ]
    cache.clear()

    assert statuses == [400] * 20 + [429]


# -- API tokens expire -----------------------------------------------------------------------------------------


def token_aged(user: User, seconds: int) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(seconds=seconds))
    return token.key


def products_with(key: str) -> object:
    return APIClient().get("/api/v1/products/", HTTP_AUTHORIZATION=f"Token {key}")


def test_a_token_is_refused_once_older_than_its_age(users: dict[str, User]) -> None:
    """Tokens lasted forever (fixed)."""
    age = settings.API_TOKEN_AGE_SECONDS
    assert age == settings.SESSION_COOKIE_AGE == 8 * 3600

    assert products_with(token_aged(users["risk_officer"], age - 60)).status_code == 200
    response = products_with(token_aged(users["risk_officer"], age + 1))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "error": {
            "code": "token_expired",
            "message": "The token has expired; obtain a new one from the token endpoint.",
            "fields": {},
        }
    }


@override_settings(API_TOKEN_AGE_SECONDS=600)
def test_the_token_endpoint_hands_out_a_fresh_token_for_an_expired_one(users: dict[str, User]) -> None:
    live = token_aged(users["risk_officer"], 599)
    assert api_login("10.0.2.1", "risk_officer", "pw-risk_officer").json() == {"token": live}

    expired = token_aged(users["risk_officer"], 600)
    fresh = api_login("10.0.2.1", "risk_officer", "pw-risk_officer").json()["token"]

    assert fresh != expired
    assert list(Token.objects.filter(user=users["risk_officer"]).values_list("key", flat=True)) == [fresh]
    assert products_with(expired).status_code == 401
    assert products_with(fresh).status_code == 200
