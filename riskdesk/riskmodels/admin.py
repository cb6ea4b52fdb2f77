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
    list_filter = ("alert", "model_version")
    date_hierarchy = "business_date"


@admin.register(ModelPerformance)
class ModelPerformanceAdmin(ReadOnlyModelAdmin):
    list_display = ("observation_month", "model_version", "loans", "bads", "auc", "ks", "gini", "computed_on")
    list_filter = ("model_version",)


@admin.register(BandChange)
class BandChangeAdmin(ReadOnlyModelAdmin):
    list_display = ("on", "loan", "from_band", "to_band", "model_version")
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
    list_display = ("credit_line", "limit_before", "limit_after", "policy", "band_change")
    list_select_related = ("policy", "band_change")
    raw_id_fields = ("credit_line", "band_change")
