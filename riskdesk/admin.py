"""django-axes' records in the admin under the desk's roles: the admin role sees lockouts and lifts them.

settings.AXES_ENABLE_ADMIN is off so axes does not register its own admins, which ask for
Django model permissions the desk's roles do not hand out.
"""

from __future__ import annotations

from typing import Any

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from riskdesk.core.admin import RoleAdminMixin
from riskdesk.core.audit import audit_record


@admin.register(AccessAttempt)
class AccessAttemptAdmin(RoleAdminMixin, axes_admin.AccessAttemptAdmin):
    """Failed logins per username and address; deleting one lifts its lockout (audited)."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        self.delete_queryset(request, AccessAttempt.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        for attempt in queryset:
            audit_record(
                actor=request.user,
                action="login_lockout_reset",
                entity=attempt,
                before={"failures": attempt.failures_since_start, "path": attempt.path_info},
            )
        queryset.delete()


@admin.register(AccessLog)
class AccessLogAdmin(RoleAdminMixin, axes_admin.AccessLogAdmin):
    """Successful logins and logouts, read only."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
