"""The scorecard API, v1 (DESIGN.md "HTTP API"): one APIView per endpoint.

Risk officers and admins read the registry; promotion, retirement and the limit policy
are the admin's. The rules live in riskmodels/services.py (409 for a champion that
cannot be retired, 422 for a missing comment).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from riskdesk.core.api import paginated_response, validated
from riskdesk.core.permissions import HasRole
from riskdesk.core.roles import ADMIN, RISK_OFFICER
from riskdesk.lending.api import errors, money
from riskdesk.riskmodels import selectors, services
from riskdesk.riskmodels.models import LimitPolicy, ModelMonitor, ModelPerformance, ModelStatusChange, ModelVersion

READ_MODELS = HasRole(ADMIN, read=(ADMIN, RISK_OFFICER))
IS_ADMIN = HasRole(ADMIN)


class SampleSerializer(serializers.Serializer):
    """Discrimination on one sample; null AUC/KS/Gini when the sample lacks goods or bads."""

    loans = serializers.IntegerField(allow_null=True)
    bads = serializers.IntegerField(allow_null=True)
    bad_rate = serializers.FloatField(allow_null=True)
    auc = serializers.FloatField(allow_null=True)
    ks = serializers.FloatField(allow_null=True)
    gini = serializers.FloatField(allow_null=True)


class MonitorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelMonitor
        fields = [
            "business_date",
            "loans",
            "psi",
            "alert",
            "feature_psi",
            "band_mix",
            "agreement",
            "agreement_within_one",
        ]


class VersionOutputSerializer(serializers.ModelSerializer):
    """A version in the registry: status, windows, scaling, out-of-time figures, latest monitoring."""

    # Plain text in the schema: "status" names other enums of the API already.
    status = serializers.CharField(read_only=True, help_text="champion, challenger or retired")
    oot = serializers.SerializerMethodField()
    latest_monitor = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "version",
            "status",
            "trained_at",
            "training_start",
            "training_end",
            "oot_start",
            "oot_end",
            "base_score",
            "base_odds",
            "pdo",
            "note",
            "oot",
            "latest_monitor",
        ]

    @extend_schema_field(SampleSerializer())
    def get_oot(self, version: ModelVersion) -> dict[str, Any]:
        return SampleSerializer(_sample(version.metrics.get("oot"))).data

    @extend_schema_field(MonitorSerializer(allow_null=True))
    def get_latest_monitor(self, version: ModelVersion) -> dict[str, Any] | None:
        # A list passes every row's latest monitor in the context (one query, not one per row).
        if "monitors" in self.context:
            monitor = self.context["monitors"].get(version.pk)
        else:
            monitor = ModelMonitor.objects.filter(model_version=version).order_by("-business_date").first()
        return MonitorSerializer(monitor).data if monitor else None


def _sample(figures: dict[str, Any] | None) -> dict[str, Any]:
    figures = figures or {}
    return {name: figures.get(name) for name in SampleSerializer().fields}


class VersionDetailOutputSerializer(VersionOutputSerializer):
    """A version with everything the model page shows: the frozen spec, metrics, monitoring and history."""

    class PerformanceSerializer(serializers.ModelSerializer):
        class Meta:
            model = ModelPerformance
            fields = ["observation_month", "loans", "bads", "auc", "ks", "gini", "calibration", "computed_on"]

    class StatusChangeSerializer(serializers.ModelSerializer):
        actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

        class Meta:
            model = ModelStatusChange
            fields = ["at", "from_status", "to_status", "comment", "actor"]

    performance = PerformanceSerializer(many=True, read_only=True)
    status_changes = StatusChangeSerializer(many=True, read_only=True)

    class Meta(VersionOutputSerializer.Meta):
        fields = [
            *VersionOutputSerializer.Meta.fields,
            "spec",
            "metrics",
            "training_distribution",
            "performance",
            "status_changes",
        ]


def render_version(version: ModelVersion) -> dict[str, Any]:
    version = ModelVersion.objects.prefetch_related("performance", "status_changes__actor").get(pk=version.pk)
    return VersionDetailOutputSerializer(version).data


class ModelVersionListApi(APIView):
    """Every scorecard version, newest first, with its out-of-time figures and latest PSI."""

    permission_classes = [READ_MODELS]
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=ModelVersion.Status.choices, required=False)

    @extend_schema(
        operation_id="models_list",
        parameters=[FilterSerializer],
        responses={200: VersionOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        versions = ModelVersion.objects.order_by("-version")
        if "status" in filters:
            versions = versions.filter(status=filters["status"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(versions, request, view=self)
        shown = ModelVersion.objects.filter(pk__in=[v.pk for v in page])
        monitors = {summary.version.pk: summary.monitor for summary in selectors.version_summaries(shown)}
        data = VersionOutputSerializer(page, many=True, context={"monitors": monitors}).data
        return paginator.get_paginated_response(data)


class ModelVersionDetailApi(APIView):
    """A version: spec (bins, WOE, points), metrics, monitoring, matured performance and status history."""

    permission_classes = [READ_MODELS]

    @extend_schema(operation_id="models_retrieve", responses={200: VersionDetailOutputSerializer, **errors(404)})
    def get(self, request: Request, version_id: int) -> Response:
        return Response(render_version(get_object_or_404(ModelVersion, pk=version_id)))


class CommentInputSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=services.COMMENT_MAX, help_text="why: kept in the audit log")


class ModelVersionPromoteApi(APIView):
    """Make a challenger the champion (admin); the old champion becomes a challenger."""

    permission_classes = [IS_ADMIN]

    @extend_schema(
        operation_id="models_promote",
        request=CommentInputSerializer,
        responses={200: VersionDetailOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, version_id: int) -> Response:
        version = get_object_or_404(ModelVersion, pk=version_id)
        data = validated(CommentInputSerializer, request.data)
        promoted = services.model_version_promote(model_version=version, comment=data["comment"], actor=request.user)
        return Response(render_version(promoted))


class ModelVersionRetireApi(APIView):
    """Stop a challenger scoring (admin); the champion cannot be retired (409)."""

    permission_classes = [IS_ADMIN]

    @extend_schema(
        operation_id="models_retire",
        request=CommentInputSerializer,
        responses={200: VersionDetailOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, version_id: int) -> Response:
        version = get_object_or_404(ModelVersion, pk=version_id)
        data = validated(CommentInputSerializer, request.data)
        retired = services.model_version_retire(model_version=version, comment=data["comment"], actor=request.user)
        return Response(render_version(retired))


class LimitPolicyListCreateApi(APIView):
    """The limit-policy versions, newest first, or a new one from `effective_from` (admin)."""

    permission_classes = [IS_ADMIN]
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        effective_from = serializers.DateField()
        enabled = serializers.BooleanField(default=True)
        reduce_on_bands = serializers.CharField(max_length=5, help_text="bands whose arrival cuts the limit, e.g. DE")
        reduce_by = serializers.DecimalField(
            max_digits=4, decimal_places=3, help_text="share of the limit taken away, above 0 and below 1"
        )
        minimum_limit = money(min_value=Decimal("0"))
        note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.ModelSerializer):
        created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

        class Meta:
            model = LimitPolicy
            fields = [
                "id",
                "effective_from",
                "enabled",
                "reduce_on_bands",
                "reduce_by",
                "minimum_limit",
                "note",
                "created_by",
                "created_at",
            ]

    @extend_schema(operation_id="limit_policies_list", responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        policies = LimitPolicy.objects.select_related("created_by").order_by("-effective_from")
        return paginated_response(request=request, view=self, queryset=policies, serializer_class=self.OutputSerializer)

    @extend_schema(
        operation_id="limit_policies_create",
        request=InputSerializer,
        responses={201: OutputSerializer, **errors(400, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        policy = services.limit_policy_create(actor=request.user, **data)
        return Response(self.OutputSerializer(policy).data, status=status.HTTP_201_CREATED)
