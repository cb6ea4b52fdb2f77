"""Login throttling with django-axes: which logins it counts, and what a locked-out caller sees.

settings.AXES_*: AXES_FAILURE_LIMIT failed logins for one username from one address (client_address,
which sees through the production profile's proxy) lock that pair out for AXES_COOLOFF_TIME. The web
login page says so in the reader's language; the API's token endpoint answers its own 429 `locked_out`
in the shared error shape (core.api).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.response import Response


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuse a locked-out username and address before any password is checked.

    An authenticate() without a request is no login over HTTP (a management command, the demo's
    own check of its passwords): there is no address to count, so it passes to the next backend,
    where axes' own backend would raise. Every view that logs someone in passes its request.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """The answer to a locked-out login: the API's own error as it stands, else the login page saying so."""
    if isinstance(original_response, Response):
        return original_response
    context = dict(getattr(original_response, "context_data", None) or {})
    context.setdefault("form", AuthenticationForm(request))
    context["locked_out"] = True
    context["cooloff_minutes"] = lockout_minutes(request)
    # Rendered here: a middleware's response is not rendered by Django as a view's TemplateResponse is.
    return render(request, "registration/login.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


def lockout_minutes(request: HttpRequest) -> int:
    """The cool-off in whole minutes, rounded up: what the locked-out reader is told to wait."""
    cool_off = get_cool_off(request)
    return -(-int(cool_off.total_seconds()) // 60) if cool_off else 0


def client_address(request: HttpRequest) -> str | None:
    """The address a login is counted under (settings.AXES_CLIENT_IP_CALLABLE).

    Without a proxy (settings.TRUSTED_PROXIES 0) the connection's REMOTE_ADDR. Behind N proxies,
    each of which appends the address it received the request from to X-Forwarded-For, the N-th
    entry from the right: the one the outermost proxy appended. Entries left of it are the client's
    own, forgeable. DRF's per-address rate limit reads the same entry (REST_FRAMEWORK NUM_PROXIES).
    A request that did not come through the proxy (no header) is counted under REMOTE_ADDR, and so is
    an entry that is no address at all.
    """
    remote = request.META.get("REMOTE_ADDR")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not settings.TRUSTED_PROXIES or not forwarded:
        return remote
    entries = forwarded.split(",")
    candidate = entries[-min(settings.TRUSTED_PROXIES, len(entries))].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
