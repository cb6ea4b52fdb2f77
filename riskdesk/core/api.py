"""The API's shared error shape: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from riskdesk.core.errors import DomainError


def error_response(
    code: str, message: str, http_status: int, fields: dict[str, Any] | None = None, **extra: Any
) -> Response:
    return Response({"error": {"code": code, "message": message, "fields": fields or {}, **extra}}, status=http_status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every error in the shared shape; bad input is never a 500."""
    if isinstance(exc, DomainError):
        return error_response(exc.code, exc.message, exc.status, exc.fields, **exc.extra)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return error_response("invalid", "The request is not valid.", status.HTTP_400_BAD_REQUEST, fields)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return error_response("invalid", "The request is not valid.", response.status_code, detail)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    message = str(getattr(exc, "detail", exc))
    return error_response(code if isinstance(code, str) else "error", message, response.status_code)
