"""The API's token authentication: DRF's token, with an age.

Apart from core.api because DRF imports the authentication classes while it defines APIView:
this module must not import rest_framework.views.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

if TYPE_CHECKING:  # the model is DRF's to load, once the apps are ready
    from rest_framework.authtoken.models import Token


def tokens_expired_before() -> datetime:
    """The moment at or before which an API token was created has expired: settings.API_TOKEN_AGE_SECONDS ago."""
    return timezone.now() - timedelta(seconds=settings.API_TOKEN_AGE_SECONDS)


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's `Authorization: Token <key>`, refused with 401 `token_expired` once the token has aged out.

    The token endpoint (core.api.TokenObtainApi) hands out a fresh token for an expired one.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token.created <= tokens_expired_before():
            raise exceptions.AuthenticationFailed(
                _("The token has expired; obtain a new one from the token endpoint."), code="token_expired"
            )
        return user, token
