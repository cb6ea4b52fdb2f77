from __future__ import annotations

from django.apps import AppConfig


class RiskModelsConfig(AppConfig):
    name = "riskdesk.riskmodels"
    label = "riskmodels"
    verbose_name = "Risk models"
    default_auto_field = "django.db.models.BigAutoField"
