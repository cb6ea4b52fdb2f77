"""The admin site: open to the `admin` role (a group), not only to staff flags."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from riskdesk.core.roles import ADMIN, has_role


class DeskAdminSite(admin.AdminSite):
    site_header = _("riskdesk administration")
    site_title = _("riskdesk admin")
    index_title = _("Configuration and records")
    site_url = "/"

    def has_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(user.is_active and (user.is_staff or has_role(user, ADMIN)))
