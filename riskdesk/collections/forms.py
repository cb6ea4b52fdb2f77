"""Forms of the collections desk: what a collector or supervisor posts from the pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from riskdesk.collections.models import Arrangement, Case, Channel, Outcome, Purpose
from riskdesk.collections.selectors import collectors
from riskdesk.core.forms import date_input
from riskdesk.core.vocabulary import label

# A collector records what happened; "blocked" is the gate's word, never a collector's.
COLLECTOR_OUTCOMES = [value for value in Outcome.values if value != Outcome.BLOCKED]


def choices_in_desk_words(values: list[str]) -> list[tuple[str, Any]]:
    return [(value, label(value)) for value in values]


class AttemptForm(forms.Form):
    """The choices of the case page's attempt form; the page posts it to the API with fetch()."""

    channel = forms.ChoiceField(label=_("Channel"), choices=choices_in_desk_words(Channel.values))
    purpose = forms.ChoiceField(label=_("Purpose"), choices=choices_in_desk_words(Purpose.values))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=choices_in_desk_words(COLLECTOR_OUTCOMES))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.TextInput(attrs={"maxlength": 500}))


class PromiseForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2)
    due_on = forms.DateField(label=_("Due on"), widget=date_input())


class ArrangementRequestForm(forms.Form):
    loan = forms.TypedChoiceField(label=_("Loan"), coerce=int)
    kind = forms.ChoiceField(label=_("Kind"), choices=choices_in_desk_words(Arrangement.Kind.values))
    months = forms.IntegerField(label=_("Months"), min_value=1, max_value=36, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["loan"].choices = [(loan.pk, f"#{loan.pk}") for loan in case.loans.order_by("id")]


class CaseIdsField(forms.TypedMultipleChoiceField):
    """Case ids ticked on the page; any integer passes here, the service decides which cases are open."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, **kwargs)

    def valid_value(self, value: Any) -> bool:
        return str(value).isdigit()


class BulkReassignForm(forms.Form):
    case_ids = CaseIdsField(label=_("Cases"), error_messages={"required": _("Tick at least one case.")})
    collector = forms.ModelChoiceField(label=_("Collector"), queryset=collectors())


class CapForm(forms.Form):
    max_open_cases = forms.IntegerField(label=_("Cap"), min_value=0, max_value=10000)


class DecisionForm(forms.Form):
    """Approve or reject an arrangement, a field visit or a write-off review."""

    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(required=False, max_length=200)

    @property
    def approved(self) -> bool:
        return self.cleaned_data["decision"] == "approve"
