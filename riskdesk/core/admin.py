"""Admin for the cross-cutting records, and the role-based base classes every app uses.

Access follows the desk's roles (Django groups): the `admin` role may use the admin;
records the desk only reads (job runs, the audit log, the book) are view-only for it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.http import HttpRequest

from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog, ClosedDay, JobRun
from riskdesk.core.roles import ADMIN, has_role


class RoleAdminMixin:
    """Everything open to the `admin` role, closed to every other role."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, ADMIN)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role(request.user, ADMIN)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return has_role(request.user, ADMIN)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role(request.user, ADMIN)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role(request.user, ADMIN)


class DeskModelAdmin(RoleAdminMixin, admin.ModelAdmin):
    pass


class ReadOnlyModelAdmin(DeskModelAdmin):
    """A record the desk reads in the admin and never writes there."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role(request.user, ADMIN)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ServiceCreateForm(forms.ModelForm):
    """An add form whose object is created by a service, inside `clean()`.

    The service holds the rules (and writes the audit row); a DomainError it raises is
    shown on the field it names. The admin wraps the whole request in a transaction,
    and the service's own atomic block rolls back what it wrote before raising.
    """

    actor: Any = None

    def create(self, cleaned: dict[str, Any]) -> Model:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors or self.instance.pk:
            return cleaned
        try:
            self.instance = self.create(cleaned)
        except DomainError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned

    def _post_clean(self) -> None:
        if self.instance.pk is None:
            super()._post_clean()


class ServiceCreateAdmin(DeskModelAdmin):
    """Add through a ServiceCreateForm; a saved version is history: viewable, never edited."""

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        """The service already saved it in the form's clean()."""

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyModelAdmin):
    list_display = ("business_date", "step", "status", "chunks_done", "chunks_total", "duration_ms", "attempts")
    list_filter = ("status", "step")
    date_hierarchy = "business_date"


@admin.register(ClosedDay)
class ClosedDayAdmin(ReadOnlyModelAdmin):
    list_display = ("business_date", "closed_at")


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyModelAdmin):
    list_display = ("at", "actor", "action", "entity_type", "entity_id", "reason")
    list_filter = ("action", "entity_type")
    search_fields = ("=entity_id", "action")
    list_select_related = ("actor",)
    date_hierarchy = "at"


# Users and their roles (groups) are configured by the admin role as well.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class DeskUserAdmin(RoleAdminMixin, UserAdmin):
    pass


@admin.register(Group)
class DeskGroupAdmin(RoleAdminMixin, GroupAdmin):
    pass
