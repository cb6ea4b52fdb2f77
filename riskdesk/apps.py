from __future__ import annotations

from django.apps import AppConfig


class RiskdeskConfig(AppConfig):
    """The project package as an app: it owns the nightly chain, its command and task."""

    name = "riskdesk"
    label = "riskdesk"
    default_auto_field = "django.db.models.BigAutoField"
