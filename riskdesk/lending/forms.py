"""Forms of the web desk's lending pages: they validate input, nothing else."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from riskdesk.core.forms import date_input
from riskdesk.core.vocabulary import label
from riskdesk.lending.grace_preview import date_bounds
from riskdesk.lending.models import GracePolicy, Loan, Product
from riskdesk.lending.web_selectors import bucket_codes


class LoanSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Loan # or national ID"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"placeholder": _("Loan # or national ID"), "autofocus": True}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    bucket = forms.ChoiceField(label=_("Bucket"), required=False)
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.order_by("code"), required=False, empty_label=_("Any product")
    )
    delinquency = forms.ChoiceField(
        label=_("Delinquency"),
        required=False,
        choices=[("", _("Any")), ("current", _("current")), ("in_grace", _("in grace")), ("overdue", _("overdue"))],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any status")), *[(s, label(s)) for s in Loan.Status.values]]
        self.fields["bucket"].choices = [("", _("Any bucket")), *[(b, b) for b in bucket_codes()]]


class PayoffQuoteForm(forms.Form):
    quote_on = forms.DateField(label=_("Quote on"), widget=date_input())


class _DraftForm(forms.Form):
    """What the grace-policy preview and its save share: the product the draft covers."""

    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.order_by("code"), required=False, empty_label=_("All products")
    )


class GracePolicyDraftForm(_DraftForm):
    """A grace policy version to preview, then save (the fields of the grace-policy API)."""

    effective_from = forms.DateField(label=_("Effective from"), widget=date_input())
    grace_days = forms.IntegerField(label=_("Grace days"), min_value=0, max_value=30, initial=3)
    penalty_start = forms.ChoiceField(
        label=_("Penalty counts from"),
        choices=[
            (GracePolicy.PenaltyStart.DUE_DATE, _("the due date")),
            (GracePolicy.PenaltyStart.GRACE_END, _("the grace end")),
        ],
        initial=GracePolicy.PenaltyStart.DUE_DATE,
    )
    arrears_tolerance = forms.DecimalField(
        label=_("Arrears tolerance"), max_digits=14, decimal_places=2, min_value=0, initial=Decimal("1.00")
    )
    bureau_report_after_days = forms.IntegerField(
        label=_("Report to the bureau after (days past due)"), min_value=0, max_value=32767, initial=30
    )
    cooling_off_days = forms.IntegerField(label=_("Cooling-off days"), min_value=0, max_value=32767, initial=30)
    case_open_after_days = forms.IntegerField(
        label=_("Open a case (days after grace end)"), min_value=0, max_value=32767, initial=0
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class IncidentWindowDraftForm(_DraftForm):
    """An incident window to preview, then declare (the fields of the incident-window API)."""

    start = forms.DateField(label=_("First due date"), widget=date_input())
    end = forms.DateField(label=_("Last due date"), widget=date_input())
    extra_grace_days = forms.IntegerField(label=_("Extra grace days"), min_value=1, max_value=30, initial=3)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean()
        # Bounded so an absurd start (0001-01-01) is refused, not replayed from year 1.
        earliest, latest = date_bounds()
        for field in ("start", "end"):
            if data.get(field) and not earliest <= data[field] <= latest:
                self.add_error(
                    field,
                    _("Must lie between %(earliest)s and %(latest)s.")
                    % {"earliest": earliest.isoformat(), "latest": latest.isoformat()},
                )
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The window ends before it starts."))
        return data
