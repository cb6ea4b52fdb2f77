"""Security settings: hashing, passwords, sessions, CSRF everywhere, headers, the production profile."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.views import APIView

from riskdesk import settings as project_settings

ROOT = Path(__file__).resolve().parents[2]


# -- passwords ----------------------------------------------------------------------


def test_passwords_are_hashed_with_djangos_default_pbkdf2() -> None:
    # tests/conftest.py puts MD5 in front for the suite's speed; the project's own list starts with PBKDF2.
    assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=project_settings.PASSWORD_HASHERS):
        assert make_password("a long pass phrase").startswith("pbkdf2_sha256$")


@pytest.mark.parametrize(
    "password",
    ["short-pw-1", "1234567890123456", "password1234", "collector-desk"],
    ids=["shorter-than-12", "numeric", "common", "like-the-username"],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password, user=User(username="collector-desk"))


def test_a_long_uncommon_password_is_accepted() -> None:
    validate_password("ledger-tangerine-harbour", user=User(username="collector"))


# -- sessions -----------------------------------------------------------------------


@pytest.fixture
def logged_in(db: None, users: dict[str, User]) -> Client:
    client = Client()
    assert client.post(reverse("login"), {"username": "admin", "password": "pw-admin"}).status_code == 302
    return client


def at(monkeypatch: pytest.MonkeyPatch, moment: Any) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_a_session_lasts_the_working_day_and_ends_with_the_browser(logged_in: Client) -> None:
    cookie = logged_in.cookies["sessionid"]

    assert project_settings.SESSION_COOKIE_AGE == 8 * 3600
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax"


def test_a_session_older_than_the_age_is_logged_out(logged_in: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    login_time = timezone.now()
    at(monkeypatch, login_time + timedelta(seconds=project_settings.SESSION_COOKIE_AGE - 60))
    assert logged_in.get(reverse("operations")).status_code == 200

    at(monkeypatch, login_time + timedelta(seconds=project_settings.SESSION_COOKIE_AGE + 1))
    response = logged_in.get(reverse("operations"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# -- CSRF ---------------------------------------------------------------------------


def url_patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Every leaf of the URL conf with its full route."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


# Token authentication reads no cookie, so there is nothing to forge; SessionAuthentication
# enforces CSRF itself (DRF exempts its views from the middleware for the token's sake).
CSRF_SAFE_API_AUTHENTICATION = (TokenAuthentication, SessionAuthentication)


def test_no_view_is_csrf_exempt_but_the_apis_with_token_or_session_authentication() -> None:
    exempt = {}
    for route, pattern in url_patterns():
        view = pattern.callback
        if not getattr(view, "csrf_exempt", False):
            continue
        view_class = getattr(view, "cls", None)
        if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
            exempt[route] = "not a DRF API view"
        elif unknown := {
            c for c in view_class.authentication_classes if not issubclass(c, CSRF_SAFE_API_AUTHENTICATION)
        }:
            exempt[route] = f"authenticates with {sorted(c.__name__ for c in unknown)}"
    assert exempt == {}


def web_post_urls() -> list[str]:
    """A URL for every route outside the API and the admin (any int argument 1, any str 'x')."""
    urls = []
    for route, pattern in url_patterns():
        if route.startswith(("api/", "admin/")) or not pattern.name:
            continue
        converters = pattern.pattern.converters.items()
        kwargs = {name: 1 if type(converter).__name__ == "IntConverter" else "x" for name, converter in converters}
        urls.append(reverse(pattern.name, kwargs=kwargs))
    return urls


@pytest.mark.django_db
def test_every_web_post_without_the_csrf_token_is_refused(users: dict[str, User]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"])
    urls = web_post_urls() + ["/admin/login/", "/admin/logout/", "/admin/lending/product/add/"]

    refused = {url: client.post(url, {}).status_code for url in urls}

    assert len(urls) > 30
    assert refused == dict.fromkeys(urls, 403)


@pytest.mark.django_db
def test_a_session_api_post_needs_the_csrf_token(users: dict[str, User]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"])
    token = client.get(reverse("home"), follow=True).context["csrf_token"]
    product = {
        "code": "xiaodai",
        "name": "Xiaodai",
        "daily_rate": "0.0005",
        "methods": ["bullet"],
        "terms": [1],
        "min_amount": "100.00",
        "max_amount": "5000.00",
    }

    refused = client.post("/api/v1/products/", product, content_type="application/json")
    accepted = client.post("/api/v1/products/", product, content_type="application/json", HTTP_X_CSRFTOKEN=str(token))

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "CSRF" in refused.json()["error"]["message"]
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["code"] == "xiaodai"


# -- headers ------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_carry_the_security_headers_and_the_content_security_policy(client: Client) -> None:
    response = client.get(reverse("login"))

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = dict(directive.strip().split(" ", 1) for directive in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"].startswith("'self'")
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["img-src"] == "'self' data:"
    assert (policy["frame-ancestors"], policy["object-src"]) == ("'none'", "'none'")
    assert (policy["base-uri"], policy["form-action"]) == ("'self'", "'self'")


# -- the production profile ---------------------------------------------------------


def production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECURE="true",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="desk.example.com",
    )
    env.update(overrides)
    return env


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
         "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "SECURE_REDIRECT_EXEMPT", "DEBUG",
         "TRUSTED_PROXIES", "AXES_CLIENT_IP_CALLABLE"]
shown = {name: getattr(settings, name) for name in names}
shown["NUM_PROXIES"] = settings.REST_FRAMEWORK["NUM_PROXIES"]
print(json.dumps(shown))
"""


def test_the_production_profile_turns_on_https_only() -> None:
    env = production_env(DJANGO_SETTINGS_MODULE="riskdesk.settings")
    done = subprocess.run([sys.executable, "-c", PRINT_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_REDIRECT_EXEMPT": ["^healthz$"],
        "DEBUG": False,
        # One TLS proxy in front: logins are counted under the address it saw (tests/security/test_login.py).
        "TRUSTED_PROXIES": 1,
        "AXES_CLIENT_IP_CALLABLE": "riskdesk.lockout.client_address",
        "NUM_PROXIES": 1,
    }


@pytest.mark.parametrize("key", ["", "riskdesk-insecure-development-key-change-me", "change-me-in-production"])
def test_the_production_profile_refuses_to_start_without_a_real_secret_key(key: str) -> None:
    env = production_env(DJANGO_SECRET_KEY=key)
    if not key:
        del env["DJANGO_SECRET_KEY"]

    done = run_manage(env, "check")

    assert done.returncode == 1
    assert "DJANGO_SECURE=true needs a real DJANGO_SECRET_KEY" in done.stderr


def test_check_deploy_is_clean_with_the_production_profile() -> None:
    done = run_manage(production_env(), "check", "--deploy", "--fail-level", "WARNING")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_without_the_production_profile_no_proxy_is_trusted() -> None:
    assert (project_settings.TRUSTED_PROXIES, project_settings.REST_FRAMEWORK["NUM_PROXIES"]) == (0, 0)
    assert not any(name.startswith("AXES_IPWARE") for name in dir(project_settings))  # axes reads no ipware here


# -- the API schema ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_the_api_schema_and_docs_are_for_signed_in_users(users: dict[str, User], path: str) -> None:
    """Both were public (drf-spectacular's default SERVE_PERMISSIONS) (fixed)."""
    anonymous = Client().get(path)
    signed_in = Client()
    signed_in.force_login(users["collector"])

    assert anonymous.status_code == 401
    assert signed_in.get(path).status_code == 200
