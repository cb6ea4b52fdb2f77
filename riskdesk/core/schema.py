"""The OpenAPI schema's shared parts: every operation documents the refusals the shared error shape carries."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

WRITE_METHODS = {"POST", "PUT", "PATCH"}
PAGE_PARAMETER = "page"
TIME_OF_DAY_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


class ErrorSerializer(serializers.Serializer):
    """The shared error shape, for the OpenAPI schema."""

    error = inline_serializer(
        name="ErrorBody",
        fields={
            "code": serializers.CharField(),
            "message": serializers.CharField(),
            # A field's messages; a nested field's errors nest the same way, by key or list index:
            # {"phones": {"0": {"number": ["..."]}}}.
            "fields": serializers.DictField(child=serializers.JSONField()),
        },
    )


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, plus the error responses any operation of its kind may give.

    A view declares its own outcomes (201, 409, 422 ...); the generic refusals are added here
    once, in the shared error shape, so a schema-checking client finds every status documented:
    401 and 403 where a login is needed, 400 where there is input to refuse (a body or a
    filter), 413 and 415 where there is a body, 404 where the path names a record or the list
    has pages, 429 where a throttle applies.
    """

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._refusal_codes():
            responses.setdefault(code, self._get_response_for_code(ErrorSerializer, code, direction=direction))
        return dict(sorted(responses.items()))

    def _refusal_codes(self) -> list[str]:
        codes = []
        parameters = {(p["name"], p["in"]) for p in self._get_parameters()}
        filters = {name for name, location in parameters if location == "query"} - {PAGE_PARAMETER}
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            codes += ["401", "403"]
        if self.method in WRITE_METHODS:
            codes += ["400", "413", "415"]
        elif filters:
            codes.append("400")
        if any(location == "path" for _, location in parameters) or (PAGE_PARAMETER, "query") in parameters:
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        return codes


class TimeOfDayField(OpenApiSerializerFieldExtension):
    """A time of day as DRF writes and reads it: "22:00" or "22:00:00", local, without an offset.

    OpenAPI's `format: time` is RFC 3339's full-time, which requires an offset ("22:00:00Z"):
    the desk's quiet hours are the contacted person's local clock, never an instant.
    """

    target_class = serializers.TimeField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {**build_basic_type(OpenApiTypes.STR), "pattern": TIME_OF_DAY_PATTERN, "example": "22:00:00"}
