"""Admin for collections: contact policies (versioned, created from a preset), routing,
queues, the reminder ladder, message templates with their lint findings, agencies and
collectors; contact attempts are read-only history.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from riskdesk.collections import contact, lint
from riskdesk.collections.models import (
    Agency,
    Case,
    CollectorProfile,
    Complaint,
    ContactAttempt,
    ContactPolicy,
    MessageTemplate,
    Queue,
    ReminderStep,
    RoutingRule,
)
from riskdesk.core.admin import (
    DeskModelAdmin,
    ReadOnlyModelAdmin,
    ServiceCreateAdmin,
    ServiceCreateForm,
    masked_text,
)
from riskdesk.core.audit import audit_record
from riskdesk.core.errors import DomainError

# -- contact policies -------------------------------------------------------------------

# Every rule of DESIGN.md's table the admin may set over the chosen preset, in the model's order.
POLICY_RULES = tuple(f.name for f in ContactPolicy._meta.fields if f.name in contact.EDITABLE_FIELDS - {"note"})


def rule_override_field(name: str) -> forms.Field:
    """An optional field for one rule: left empty, the preset's value stands."""
    model_field = ContactPolicy._meta.get_field(name)
    if model_field.get_internal_type() == "BooleanField":
        return forms.NullBooleanField(label=model_field.verbose_name, required=False)
    field = model_field.formfield(required=False)
    field.initial = None
    field.help_text = _("empty: the preset's value")
    return field


class ContactPolicyForm(ServiceCreateForm):
    """A new policy version: a preset, when it takes effect, and any rule set over the preset."""

    class Meta:
        model = ContactPolicy
        fields = ("preset", "effective_from", "note")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            for name in POLICY_RULES:
                self.fields[name] = rule_override_field(name)

    def create(self, cleaned: dict[str, Any]) -> ContactPolicy:
        overrides = {name: cleaned[name] for name in (*POLICY_RULES, "note") if cleaned.get(name) not in (None, "")}
        return contact.contact_policy_create(
            preset=cleaned["preset"], effective_from=cleaned["effective_from"], actor=self.actor, **overrides
        )


@admin.register(ContactPolicy)
class ContactPolicyAdmin(ServiceCreateAdmin):
    form = ContactPolicyForm
    list_display = (
        "version",
        "preset",
        "effective_from",
        "quiet_start",
        "quiet_end",
        "max_unanswered_dials_per_number_per_day",
        "max_conversations_per_day",
        "max_calls_per_7_days",
        "created_by",
    )
    list_filter = ("preset",)
    list_select_related = ("created_by",)

    def get_fieldsets(self, request: HttpRequest, obj: ContactPolicy | None = None) -> Any:
        if obj is not None:
            return super().get_fieldsets(request, obj)
        return [
            (None, {"fields": ("preset", "effective_from", "note")}),
            (gettext_lazy("Rules over the preset (optional)"), {"fields": POLICY_RULES, "classes": ("collapse",)}),
        ]


# -- routing and queues -----------------------------------------------------------------


@admin.register(Queue)
class QueueAdmin(DeskModelAdmin):
    list_display = ("code", "name", "stage")
    list_filter = ("stage",)


@admin.register(RoutingRule)
class RoutingRuleAdmin(DeskModelAdmin):
    list_display = ("order", "queue", "stage", "risk_bands", "min_overdue", "max_overdue", "language", "active")
    list_editable = ("active",)
    list_filter = ("active", "queue")
    list_select_related = ("queue",)


@admin.register(ReminderStep)
class ReminderStepAdmin(DeskModelAdmin):
    list_display = ("code", "anchor", "offset_days", "channels", "template_code", "kind", "active")
    list_filter = ("anchor", "kind", "active")


@admin.register(Agency)
class AgencyAdmin(DeskModelAdmin):
    list_display = ("name", "reviewed_on", "active")
    filter_horizontal = ("users",)


@admin.register(CollectorProfile)
class CollectorProfileAdmin(DeskModelAdmin):
    list_display = ("user", "max_open_cases", "languages", "supervisor")
    list_select_related = ("user", "supervisor")


# -- message templates ------------------------------------------------------------------


def finding_text(finding: Any) -> str:
    """A lint finding in one line, whether stored (a dict) or fresh (a dataclass)."""
    if dataclasses.is_dataclass(finding):
        finding = dataclasses.asdict(finding)
    if isinstance(finding, dict):
        return " · ".join(str(value) for value in finding.values() if value not in (None, ""))
    return str(finding)


def template_findings(template: MessageTemplate) -> list[lint.Finding]:
    return lint.template_lint(
        body=template.body, subject=template.subject, audience=template.audience, language=template.language
    )


@admin.register(MessageTemplate)
class MessageTemplateAdmin(DeskModelAdmin):
    list_display = ("code", "language", "channel", "audience", "status", "finding_count", "approved_by", "approved_at")
    list_filter = ("status", "channel", "language", "audience")
    search_fields = ("code",)
    readonly_fields = ("status", "lint_now", "approved_by", "approved_at")
    fields = ("code", "language", "channel", "audience", "subject", "body", "status", "lint_now", "approved_by")
    actions = ("approve",)

    @admin.display(description=gettext_lazy("findings"))
    def finding_count(self, template: MessageTemplate) -> int:
        return len(template.lint_findings or [])

    @admin.display(description=gettext_lazy("lint findings (current text)"))
    def lint_now(self, template: MessageTemplate) -> str:
        if template.pk is None:
            return "—"
        findings = template_findings(template)
        if not findings:
            return _("clean")
        return format_html_join("", "<div>{}</div>", ((finding_text(f),) for f in findings))

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: Any, change: bool) -> None:
        """A changed text is a draft again, to be linted and approved anew."""
        obj.lint_findings = [finding_text(f) for f in template_findings(obj)]
        if change and {"subject", "body", "audience", "language"} & set(form.changed_data):
            obj.status = MessageTemplate.Status.DRAFT
            obj.approved_by, obj.approved_at = None, None
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="template.change" if change else "template.create",
            entity=obj,
            after={"status": obj.status, "findings": obj.lint_findings},
        )

    @admin.action(description=gettext_lazy("Approve the selected templates (refused when lint finds anything)"))
    def approve(self, request: HttpRequest, queryset: QuerySet[MessageTemplate]) -> None:
        for template in queryset:
            try:
                lint.message_template_approve(template=template, actor=request.user)
            except DomainError as error:
                findings = "; ".join(finding_text(f) for f in error.extra.get("findings", []))
                messages.error(request, f"{template}: {error.message}" + (f" — {findings}" if findings else ""))
            else:
                messages.success(request, _("%(template)s approved.") % {"template": template})


# -- history ----------------------------------------------------------------------------


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyModelAdmin):
    list_display = ("at", "borrower", "case", "channel", "purpose", "source", "allowed", "rule", "outcome", "policy")
    # What was said and noted may carry a number; shown masked, like every identity here.
    exclude = ("message", "note")
    readonly_fields = ("message_masked", "note_masked")
    message_masked = masked_text("message", "message")
    note_masked = masked_text("note", "note")
    list_filter = ("allowed", "channel", "source", "rule", "outcome")
    list_select_related = ("borrower", "case", "policy")
    date_hierarchy = "at"
    search_fields = ("=case__id", "=borrower__id")


@admin.register(Case)
class CaseAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "borrower", "status", "stage", "worst_bucket", "max_dpd", "overdue_amount", "queue")
    list_filter = ("status", "stage", "queue")
    list_select_related = ("borrower", "queue")
    search_fields = ("=id", "=borrower__id")


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyModelAdmin):
    """Complaints are recorded and resolved through the API's services, which write the audit rows."""

    list_display = ("received_at", "borrower", "case", "channel", "category", "status", "resolved_at")
    exclude = ("description", "resolution")
    readonly_fields = ("description_masked", "resolution_masked")
    description_masked = masked_text("description", "description")
    resolution_masked = masked_text("resolution", "resolution")
    list_filter = ("status", "category", "channel")
    list_select_related = ("borrower", "case")
    date_hierarchy = "received_at"
    search_fields = ("=id", "=borrower__id", "=case__id")
