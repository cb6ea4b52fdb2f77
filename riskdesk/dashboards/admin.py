"""Admin for the dashboards: the LGD setting's versions, added through their service, never edited.

The aggregate tables are close of day's output, read on the dashboard pages: not here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from riskdesk.core.admin import ServiceCreateAdmin, ServiceCreateForm
from riskdesk.dashboards.models import LossGivenDefault
from riskdesk.dashboards.services import loss_given_default_create


class LossGivenDefaultForm(ServiceCreateForm):
    class Meta:
        model = LossGivenDefault
        fields = ("product", "effective_from", "lgd", "note")

    def create(self, cleaned: dict[str, Any]) -> LossGivenDefault:
        return loss_given_default_create(actor=self.actor, **cleaned)


@admin.register(LossGivenDefault)
class LossGivenDefaultAdmin(ServiceCreateAdmin):
    form = LossGivenDefaultForm
    list_display = ("product", "effective_from", "lgd", "note", "created_by", "created_at")
    list_filter = ("product",)
    list_select_related = ("product", "created_by")
