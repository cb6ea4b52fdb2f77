"""The API's shared error shape: {"error": {"code", "message", "fields"}}, and the core endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from riskdesk.core.authentication import tokens_expired_before
from riskdesk.core.errors import DomainError
from riskdesk.core.models import JobRun, RetentionPolicy
from riskdesk.core.permissions import HasRole
from riskdesk.core.retention import MAX_KEEP_DAYS, minimum_days, retention_policy_create
from riskdesk.core.roles import ADMIN, RISK_OFFICER
from riskdesk.core.schema import ErrorSerializer


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
    if isinstance(exc, RequestDataTooBig):
        return error_response("too_large", "The request body is too large.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):
        # Django's refusals of a request's body, e.g. more than DATA_UPLOAD_MAX_NUMBER_FIELDS form fields.
        return error_response("bad_request", str(exc), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RecursionError):
        # Only the JSON parser recurses on client data: "[[[[...]]]]" nested past the stack.
        return error_response("malformed_json", "JSON parse error - nested too deeply.", status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError):
        # The parser's text names the JSON decoder's complaint (line, column): keep it.
        return error_response("malformed_json", str(exc.detail), status.HTTP_400_BAD_REQUEST)
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
    error = error_response(code if isinstance(code, str) else "error", message, response.status_code)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            error[header] = response[header]
    return error


class NestedSerializerNames(OpenApiSerializerExtension):
    """Name a nested serializer's schema component after its owner: ProductListCreateApi.InputSerializer
    becomes ProductListCreateInput, so the many InputSerializer / OutputSerializer classes of
    the styleguide's views do not collide. Other serializers keep drf-spectacular's naming
    (priority -1: every more specific extension wins)."""

    target_class = serializers.Serializer
    match_subclasses = True
    priority = -1

    def get_name(self, auto_schema: Any, direction: Any) -> str | None:
        parts = type(self.target).__qualname__.split(".")
        if len(parts) < 2 or "<locals>" in parts:
            return None
        return "".join(part.removesuffix("Serializer").removesuffix("Api") for part in parts)

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return auto_schema._map_serializer(self.target, direction, bypass_extensions=True)


class RecordIdField(serializers.PrimaryKeyRelatedField):
    """A record named by its integer id; 1.5, true or "1.5" are refused, not truncated to 1."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | str) or (isinstance(data, str) and not data.isdigit()):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """`data` checked by `serializer_class`: its validated data, or a 400 naming the fields."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def paginated_response(
    *, request: Request, view: APIView, queryset: QuerySet[Any], serializer_class: type[serializers.Serializer]
) -> Response:
    """One page of `queryset` rendered with `serializer_class` (settings.PAGE_SIZE rows a page)."""
    paginator = getattr(view, "pagination_class", PageNumberPagination)()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context={"request": request}).data)


# -- authentication ------------------------------------------------------------------


class _BadCredentials(DomainError):
    status = 400

    def __init__(self) -> None:
        super().__init__("invalid_credentials", "Unable to log in with the given username and password.")


class _LockedOut(DomainError):
    status = 429

    def __init__(self) -> None:
        super().__init__(
            "locked_out",
            "Too many failed logins for this username from this address; try again later or ask an administrator.",
        )


class TokenObtainThrottle(AnonRateThrottle):
    """Slow down password guessing: attempts per client address (the default cache).

    django-axes locks one username from one address after a few failures; this limit is what
    stops one address trying a password or two on many usernames.
    """

    scope = "token"
    rate = "20/minute"


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token (`Authorization: Token <token>`)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenObtainThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        operation_id="auth_token_obtain",
        auth=[],
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        # The Django request, so django-axes counts the attempt and flags a lockout on it (riskdesk.lockout).
        user = authenticate(request=request._request, **data)
        if getattr(request._request, "axes_locked_out", False):
            raise _LockedOut()
        if user is None or not user.is_active:
            raise _BadCredentials()
        # An expired token is replaced by a fresh one; a live one is handed out again.
        Token.objects.filter(user=user, created__lte=tokens_expired_before()).delete()
        token, _created = Token.objects.get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key}).data)


class NotFoundApi(APIView):
    """Any path under /api/v1/ that names no endpoint: a 404 in the error shape, not an HTML page."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    schema = None  # not an endpoint of the API

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Runs before the method is looked up, so every method gets the 404, none a 405.
        raise exceptions.NotFound("No API endpoint at this path.")


# -- operations ----------------------------------------------------------------------


class JobRunListApi(APIView):
    """The close-of-day job runs, newest business date first, optionally of one date."""

    permission_classes = [HasRole(ADMIN, RISK_OFFICER)]
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        business_date = serializers.DateField(required=False)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = JobRun
            fields = [
                "id",
                "step",
                "business_date",
                "status",
                "chunks_done",
                "chunks_total",
                "rows",
                "attempts",
                "started_at",
                "finished_at",
                "duration_ms",
                "error",
            ]

    @extend_schema(
        operation_id="job_runs_list",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), 400: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        runs = JobRun.objects.order_by("-business_date", "id")
        if "business_date" in filters:
            runs = runs.filter(business_date=filters["business_date"])
        return paginated_response(request=request, view=self, queryset=runs, serializer_class=self.OutputSerializer)


# -- retention -------------------------------------------------------------------------


class RetentionPolicyListCreateApi(APIView):
    """The retention periods' versions, or a new version of one kind's period (admin).

    A period under the kind's legal minimum is a 400 on `keep_days` naming the minimum; a
    version starts after the last closed business day (422) and one per kind and date (409).
    """

    permission_classes = [HasRole(ADMIN)]
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=RetentionPolicy.Kind.choices)
        effective_from = serializers.DateField()
        keep_days = serializers.IntegerField(min_value=1, max_value=MAX_KEEP_DAYS)
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.ModelSerializer):
        minimum_days = serializers.SerializerMethodField()

        class Meta:
            model = RetentionPolicy
            fields = ["id", "kind", "effective_from", "keep_days", "minimum_days", "reason", "created_by", "created_at"]

        def get_minimum_days(self, policy: RetentionPolicy) -> int:
            return minimum_days(policy.kind)

    @extend_schema(operation_id="retention_policies_list", responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        policies = RetentionPolicy.objects.order_by("kind", "effective_from", "id")
        return paginated_response(request=request, view=self, queryset=policies, serializer_class=self.OutputSerializer)

    @extend_schema(
        operation_id="retention_policies_create",
        request=InputSerializer,
        responses={201: OutputSerializer, 400: ErrorSerializer, 409: ErrorSerializer, 422: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        policy = retention_policy_create(actor=request.user, **data)
        return Response(self.OutputSerializer(policy).data, status=status.HTTP_201_CREATED)
