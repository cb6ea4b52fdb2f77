"""Admin for the scorecard registry: versions and their status history are read-only here
(promotion and retirement are actions of the model page, with a comment), the limit
policy is added through its service; scores and monitoring are history.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from riskdesk.core.admin import ReadOnlyInline, ReadOnlyModelAdmin, ServiceCreateAdmin, ServiceCreateForm
from riskdesk.riskmodels import services
from riskdesk.riskmodels.models import (
    BandChange,
    LimitPolicy,
    LimitReduction,
    ModelMonitor,
    ModelPerformance,
    ModelStatusChange,
    ModelVersion,
)


class StatusChangeInline(ReadOnlyInline):
    model = ModelStatusChange
    fields = ("at", "from_status", "to_status", "comment", "actor")
    readonly_fields = fields


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyModelAdmin):
    list_display = ("version", "status", "training_start", "training_end", "oot_start", "oot_end", "trained_at")
    list_filter = ("status",)
    exclude = ("spec", "training_distribution")
    inlines = [StatusChangeInline]


@admin.register(ModelMonitor)
class ModelMonitorAdmin(ReadOnlyModelAdmin):
    list_display = ("business_date", "model_version", "loans", "psi", "alert")
    list_select_related = ("model_version",)
    list_filter = ("alert", "model_version")
    date_hierarchy = "business_date"


@admin.register(ModelPerformance)
class ModelPerformanceAdmin(ReadOnlyModelAdmin):
    list_display = ("observation_month", "model_version", "loans", "bads", "auc", "ks", "gini", "computed_on")
    list_select_related = ("model_version",)
    list_filter = ("model_version",)


@admin.register(BandChange)
class BandChangeAdmin(ReadOnlyModelAdmin):
    list_display = ("on", "loan", "from_band", "to_band", "model_switch", "model_version")
    list_select_related = ("loan", "model_version")
    list_filter = ("to_band",)
    raw_id_fields = ("loan",)
    date_hierarchy = "on"


class LimitPolicyForm(ServiceCreateForm):
    class Meta:
        model = LimitPolicy
        fields = ("effective_from", "enabled", "reduce_on_bands", "reduce_by", "minimum_limit", "note")

    def create(self, cleaned: dict[str, Any]) -> LimitPolicy:
        return services.limit_policy_create(actor=self.actor, **cleaned)


@admin.register(LimitPolicy)
class LimitPolicyAdmin(ServiceCreateAdmin):
    form = LimitPolicyForm
    list_display = ("effective_from", "enabled", "reduce_on_bands", "reduce_by", "minimum_limit", "created_by")
    list_select_related = ("created_by",)


@admin.register(LimitReduction)
class LimitReductionAdmin(ReadOnlyModelAdmin):
    list_display = ("cut_on", "credit_line", "loan", "bands", "limit_before", "limit_after", "policy_from")
    # Every column but the amounts reads a related row: one join, not a query per row.
    list_select_related = ("credit_line", "band_change", "policy", "event")
    raw_id_fields = ("credit_line", "band_change", "event")

    @admin.display(description="cut on", ordering="event__on")
    def cut_on(self, reduction: LimitReduction) -> Any:
        return reduction.event.on if reduction.event else None

    @admin.display(description="loan", ordering="band_change__loan")
    def loan(self, reduction: LimitReduction) -> str:
        return f"loan #{reduction.band_change.loan_id}"

    @admin.display(description="band change")
    def bands(self, reduction: LimitReduction) -> str:
        change = reduction.band_change
        return f"{change.from_band} → {change.to_band} on {change.on}"

    @admin.display(description="policy from", ordering="policy__effective_from")
    def policy_from(self, reduction: LimitReduction) -> Any:
        return reduction.policy.effective_from
