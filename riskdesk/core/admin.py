"""Admin for the cross-cutting records, and the role-based base classes every app uses.

Access follows the desk's roles (Django groups): the `admin` role may use the admin;
records the desk only reads (job runs, the audit log, the book) are view-only for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from riskdesk.core import masking
from riskdesk.core.errors import DomainError
from riskdesk.core.forms import date_input
from riskdesk.core.models import AuditLog, ClosedDay, JobRun, RetentionPolicy
from riskdesk.core.retention import (
    minimum_days,
    retention_policy_check,
    retention_policy_create,
    retention_preview,
)
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


def masked_text(field: str, description: str) -> Callable[[Any, Model], str]:
    """A read-only admin field showing `field` (free text or JSON) with personal data masked.

    The admin shows no identity in full, whoever looks: unmasking is the desk's reveal,
    which is audited (riskdesk.core.access.pii_reveal).
    """

    @admin.display(description=description)
    def show(self: Any, obj: Model) -> str:
        value = getattr(obj, field)
        if isinstance(value, dict | list):
            return json.dumps(masking.mask_json(value), ensure_ascii=False, sort_keys=True)
        return masking.mask_text(value or "")

    return show


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
    list_display = ("at", "actor", "action", "entity_type", "entity_id", "reason_masked")
    fields = ("at", "actor", "action", "entity_type", "entity_id", "reason_masked", "before_masked", "after_masked")
    readonly_fields = fields
    reason_masked = masked_text("reason", "reason")
    before_masked = masked_text("before", "before")
    after_masked = masked_text("after", "after")
    list_filter = ("action", "entity_type")
    search_fields = ("=entity_id", "action")
    list_select_related = ("actor",)
    date_hierarchy = "at"


class RetentionPolicyForm(ServiceCreateForm):
    class Meta:
        model = RetentionPolicy
        fields = ("kind", "effective_from", "keep_days", "reason")
        widgets = {"effective_from": date_input()}

    def create(self, cleaned: dict[str, Any]) -> RetentionPolicy:
        return retention_policy_create(actor=self.actor, **cleaned)


class RetentionDraftForm(forms.Form):
    """A period to preview: what tonight's purge would remove with it in force."""

    kind = forms.ChoiceField(label=_("Record kind"), choices=RetentionPolicy.Kind.choices)
    keep_days = forms.IntegerField(label=_("Keep (days)"), min_value=1)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            try:
                retention_policy_check(kind=cleaned["kind"], keep_days=cleaned["keep_days"])
            except DomainError as error:
                self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(ServiceCreateAdmin):
    """Retention periods: versions added through the service (never under the legal
    minimum, never in the closed past), and a preview of tonight's purge under a draft."""

    form = RetentionPolicyForm
    list_display = ("kind", "effective_from", "keep_days", "legal_minimum", "reason", "created_by")
    list_filter = ("kind",)
    list_select_related = ("created_by",)
    change_list_template = "admin/core/retentionpolicy/change_list.html"

    @admin.display(description=_("legal minimum (days)"))
    def legal_minimum(self, policy: RetentionPolicy) -> int:
        return minimum_days(policy.kind)

    def get_urls(self) -> list[Any]:
        preview = path("preview/", self.admin_site.admin_view(self.preview_view), name="core_retentionpolicy_preview")
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        if not has_role(request.user, ADMIN):
            return redirect("admin:index")
        form = RetentionDraftForm(request.GET if "kind" in request.GET else None)
        rows = None
        if form.is_bound and form.is_valid():
            rows = retention_preview(kind=form.cleaned_data["kind"], keep_days=form.cleaned_data["keep_days"])
        labels = dict(RetentionPolicy.Kind.choices)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Preview tonight's retention purge"),
            "opts": self.model._meta,
            "form": form,
            "rows": [{"label": labels[row.kind], "row": row} for row in rows] if rows is not None else None,
        }
        return TemplateResponse(request, "admin/core/retentionpolicy/preview.html", context)


# Users and their roles (groups) are configured by the admin role as well.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class DeskUserAdmin(RoleAdminMixin, UserAdmin):
    pass


@admin.register(Group)
class DeskGroupAdmin(RoleAdminMixin, GroupAdmin):
    pass
