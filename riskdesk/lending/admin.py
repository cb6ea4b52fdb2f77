"""Admin for the lending book: configuration (products, grace, incidents, buckets) and
read-only views of the book itself.

Grace policies and incident windows are created by their services, so the rules and
the replay of affected loans hold here as in the API; a saved version is history.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms import BaseModelFormSet, modelformset_factory
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from riskdesk.core import masking
from riskdesk.core.admin import (
    DeskModelAdmin,
    ReadOnlyInline,
    ReadOnlyModelAdmin,
    ServiceCreateAdmin,
    ServiceCreateForm,
)
from riskdesk.core.models import AuditLog
from riskdesk.core.roles import ADMIN, has_role
from riskdesk.lending import services
from riskdesk.lending.models import (
    Borrower,
    Bucket,
    BucketHistory,
    CreditLine,
    CreditLineEvent,
    GracePolicy,
    IncidentWindow,
    Installment,
    Loan,
    Payment,
    Product,
)

# -- configuration -----------------------------------------------------------------


@admin.register(Product)
class ProductAdmin(DeskModelAdmin):
    list_display = ("code", "name", "daily_rate", "penalty_multiplier", "penalty_base", "min_amount", "max_amount")
    search_fields = ("code", "name")


class GracePolicyForm(ServiceCreateForm):
    grace_days = forms.IntegerField(min_value=0, max_value=30, initial=3)

    class Meta:
        model = GracePolicy
        fields = ("product", "effective_from", *GracePolicy.RULES, "note")

    def create(self, cleaned: dict[str, Any]) -> GracePolicy:
        rules = {k: v for k, v in cleaned.items() if k not in ("product", "effective_from")}
        return services.grace_policy_create(
            product=cleaned["product"], effective_from=cleaned["effective_from"], actor=self.actor, **rules
        )


@admin.register(GracePolicy)
class GracePolicyAdmin(ServiceCreateAdmin):
    form = GracePolicyForm
    list_display = ("product", "effective_from", *GracePolicy.RULES, "created_by")
    list_filter = ("product",)
    list_select_related = ("product", "created_by")


class IncidentWindowForm(ServiceCreateForm):
    class Meta:
        model = IncidentWindow
        fields = ("product", "start", "end", "extra_grace_days", "reason")

    def create(self, cleaned: dict[str, Any]) -> IncidentWindow:
        return services.incident_window_create(actor=self.actor, **cleaned)


@admin.register(IncidentWindow)
class IncidentWindowAdmin(ServiceCreateAdmin):
    form = IncidentWindowForm
    list_display = ("start", "end", "product", "extra_grace_days", "reason", "created_by")
    list_filter = ("product",)
    list_select_related = ("product", "created_by")


def bucket_set_errors(rows: list[tuple[str, int, int | None]]) -> list[str]:
    """Why a set of buckets (code, min_dpd, max_dpd) does not cover 0 to infinity exactly once."""
    if not rows:
        return [_("At least one bucket is needed.")]
    rows = sorted(rows, key=lambda row: row[1])
    errors = []
    if rows[0][1] != 0:
        errors.append(_("The first bucket must start at 0 days past due."))
    for (code, _lo, hi), (next_code, next_lo, _next_hi) in zip(rows, rows[1:], strict=False):
        if hi is None:
            errors.append(_("Only the top bucket may be open-ended; %(code)s is not the top.") % {"code": code})
        elif next_lo != hi + 1:
            errors.append(
                _("%(next)s must start at %(start)d, the day after %(code)s ends.")
                % {"next": next_code, "start": hi + 1, "code": code}
            )
    if rows[-1][2] is not None:
        errors.append(_("The top bucket must be open-ended (no maximum)."))
    codes = [row[0] for row in rows]
    if len(set(codes)) != len(codes):
        errors.append(_("Bucket codes must be unique."))
    return errors


class BucketForm(forms.ModelForm):
    class Meta:
        model = Bucket
        fields = ("code", "label", "min_dpd", "max_dpd")

    def validate_unique(self) -> None:
        """Codes and ranges are checked across the whole set, which is replaced at once."""


class BucketSetFormSet(BaseModelFormSet):
    """Every bucket edited together, so the set stays contiguous from 0 with one open top."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows = [
            (f.cleaned_data["code"], f.cleaned_data["min_dpd"], f.cleaned_data.get("max_dpd"))
            for f in self.forms
            if f.has_changed() or f.instance.pk
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        errors = bucket_set_errors(rows)
        if errors:
            raise ValidationError(errors)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {k: f.cleaned_data.get(k) for k in ("code", "label", "min_dpd", "max_dpd")}
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]


BucketSetForms = modelformset_factory(Bucket, form=BucketForm, formset=BucketSetFormSet, extra=2, can_delete=True)


@transaction.atomic
def _replace_buckets(rows: list[dict[str, Any]], actor: Any) -> None:
    before = list(Bucket.objects.order_by("min_dpd").values("code", "label", "min_dpd", "max_dpd"))
    Bucket.objects.all().delete()
    Bucket.objects.bulk_create(Bucket(**row) for row in sorted(rows, key=lambda row: row["min_dpd"]))
    AuditLog.objects.create(
        actor=actor, action="bucket_set.replace", entity_type="lending.bucket", entity_id="*", before=before, after=rows
    )


@admin.register(Bucket)
class BucketAdmin(DeskModelAdmin):
    """Buckets are edited as one set (see edit_set_view); single rows are view-only."""

    list_display = ("code", "label", "min_dpd", "max_dpd")
    change_list_template = "admin/lending/bucket/change_list.html"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        edit = path("edit-set/", self.admin_site.admin_view(self.edit_set_view), name="lending_bucket_edit_set")
        return [edit, *super().get_urls()]

    def edit_set_view(self, request: HttpRequest) -> HttpResponse:
        if not has_role(request.user, ADMIN):
            return redirect("admin:index")
        queryset = Bucket.objects.order_by("min_dpd")
        formset = BucketSetForms(request.POST or None, queryset=queryset)
        if request.method == "POST" and formset.is_valid():
            _replace_buckets(formset.rows(), request.user)
            self.message_user(request, _("The buckets are saved."), messages.SUCCESS)
            return redirect(reverse("admin:lending_bucket_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Edit the delinquency buckets"),
            "opts": self.model._meta,
            "formset": formset,
        }
        return TemplateResponse(request, "admin/lending/bucket/edit_set.html", context)


# -- the book, read-only -----------------------------------------------------------


class ContactMaskMixin:
    @admin.display(description="national ID")
    def national_id_masked(self, borrower: Borrower) -> str:
        return masking.mask_national_id(borrower.national_id)

    @admin.display(description="name")
    def name_masked(self, borrower: Borrower) -> str:
        return masking.mask_name(borrower.name)

    @admin.display(description="phones")
    def phones_masked(self, borrower: Borrower) -> str:
        phones = [p.value for p in borrower.contact_points.all() if p.kind == "phone"]
        return ", ".join(masking.mask_phone(p) for p in phones)

    @admin.display(description="email")
    def email_masked(self, borrower: Borrower) -> str:
        return masking.mask("email", borrower.email)

    @admin.display(description="address")
    def address_masked(self, borrower: Borrower) -> str:
        return masking.mask("address", borrower.address)

    @admin.display(description="autodebit card")
    def bank_card_masked(self, borrower: Borrower) -> str:
        return masking.mask("card", borrower.bank_card)


@admin.register(Borrower)
class BorrowerAdmin(ContactMaskMixin, ReadOnlyModelAdmin):
    """Masked everywhere here: the admin list is no place to read identities."""

    list_display = ("id", "name_masked", "national_id_masked", "phones_masked", "language", "created_at")
    fields = (
        "name_masked",
        "national_id_masked",
        "phones_masked",
        "email_masked",
        "address_masked",
        "bank_card_masked",
        "timezone",
        "language",
    )
    readonly_fields = fields
    search_fields = ("=national_id",)
    list_filter = ("language",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("contact_points")


class InstallmentInline(ReadOnlyInline):
    model = Installment
    fields = (
        "seq",
        "due_date",
        "grace_end",
        "penalty_from",
        "principal_due",
        "principal_paid",
        "interest_due",
        "interest_paid",
        "penalty_accrued",
        "penalty_paid",
        "pi_settled_on",
    )
    readonly_fields = fields


@admin.register(Loan)
class LoanAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "borrower", "product", "principal", "outstanding_principal", "dpd", "bucket", "status")
    list_filter = ("status", "bucket", "in_grace", "product")
    list_select_related = ("borrower", "product")
    search_fields = ("=id",)
    inlines = [InstallmentInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "loan", "value_date", "amount", "kind", "channel", "status", "unapplied")
    list_filter = ("status", "kind", "channel")
    list_select_related = ("loan",)
    search_fields = ("=loan__id", "=idempotency_key", "reference")
    date_hierarchy = "value_date"


class CreditLineEventInline(ReadOnlyInline):
    model = CreditLineEvent
    fields = ("on", "kind", "reason", "loan", "limit_before", "limit_after", "unfreeze_on")
    readonly_fields = fields


@admin.register(CreditLine)
class CreditLineAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "borrower", "limit", "status", "freeze_reason", "frozen_on", "unfreeze_on")
    list_filter = ("status", "freeze_reason")
    list_select_related = ("borrower",)
    search_fields = ("=id", "=borrower__id")
    inlines = [CreditLineEventInline]


@admin.register(BucketHistory)
class BucketHistoryAdmin(ReadOnlyModelAdmin):
    list_display = ("loan", "on", "from_bucket", "to_bucket", "dpd")
    list_filter = ("to_bucket", "from_bucket")
    list_select_related = ("loan",)
    search_fields = ("=loan__id",)
    date_hierarchy = "on"
