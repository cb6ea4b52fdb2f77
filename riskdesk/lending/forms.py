"""Forms of the web desk's lending pages: they validate input, nothing else."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from riskdesk.core.vocabulary import label
from riskdesk.lending.models import Loan, Product
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
    quote_on = forms.DateField(label=_("Quote on"), widget=forms.DateInput(attrs={"type": "date"}))
