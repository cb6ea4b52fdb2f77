"""Django admin, served by the desk's own admin site (INSTALLED_APPS names this config)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class DeskAdminConfig(AdminConfig):
    default_site = "riskdesk.core.admin_site.DeskAdminSite"
