"""The one filter every dashboard page takes: product, term, origination months and dates.

Filters live in the URL (GET), so a page can be bookmarked, shared and exported as shown.
Parameters: `product` (a product code, empty: every product), `term` (empty: every term),
`orig_from` / `orig_to` (origination months, YYYY-MM, inclusive), `from` / `to` (business
dates, YYYY-MM-DD, inclusive, between 2000-01-01 and 2100-12-31; default: the 90 days ending
at the last closed business day).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from riskdesk.core.dates import business_today
from riskdesk.core.jobs import last_closed_day
from riskdesk.lending.models import Product

DEFAULT_DAYS = 90
# A page's date range is capped: the aggregates are daily, and a range of years would
# make every page read years of rows (the trend charts stay readable up to about this).
MAX_DAYS = 731
# The dates a page accepts: well beyond any business date, and far enough from date.min/max
# that the default range can be counted from either end without overflowing.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


class MonthField(forms.CharField):
    """A month as YYYY-MM (what <input type="month"> sends), cleaned to its first day."""

    default_error_messages = {"invalid": _("Enter a month as YYYY-MM.")}

    def to_python(self, value: Any) -> date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


@dataclass(frozen=True)
class DashboardFilters:
    """The cleaned filters of a page, and how to apply them to an aggregate queryset."""

    date_from: date
    date_to: date
    product: str = ""
    term: int | None = None
    orig_from: date | None = None
    orig_to: date | None = None
    # The default range is not written into links: a bookmark keeps following the last closed day.
    explicit_dates: bool = False

    def apply(
        self, queryset: QuerySet, *, date_field: str | None = "business_date", segmented: bool = True
    ) -> QuerySet:
        """`queryset` narrowed to the filters.

        `date_field`: the table's business-date column (None: the caller picks its dates);
        `segmented`: whether the table has product, term and origination_month columns
        (collections and compliance days do not, so only the dates apply to them).
        """
        lookups: dict[str, Any] = {}
        if date_field:
            lookups[f"{date_field}__gte"] = self.date_from
            lookups[f"{date_field}__lte"] = self.date_to
        if segmented:
            lookups.update(self.segment_lookups())
        return queryset.filter(**lookups)

    def segment_lookups(self) -> dict[str, Any]:
        lookups: dict[str, Any] = {}
        if self.product:
            lookups["product__code"] = self.product
        if self.term is not None:
            lookups["term"] = self.term
        if self.orig_from:
            lookups["origination_month__gte"] = self.orig_from
        if self.orig_to:
            lookups["origination_month__lte"] = self.orig_to
        return lookups

    def params(self) -> dict[str, str]:
        """The filters as URL parameters (only those set)."""
        params: dict[str, str] = {}
        if self.product:
            params["product"] = self.product
        if self.term is not None:
            params["term"] = str(self.term)
        if self.orig_from:
            params["orig_from"] = self.orig_from.strftime("%Y-%m")
        if self.orig_to:
            params["orig_to"] = self.orig_to.strftime("%Y-%m")
        if self.explicit_dates:
            params["from"] = self.date_from.isoformat()
            params["to"] = self.date_to.isoformat()
        return params

    def query_string(self, **extra: str) -> str:
        """The filters (and `extra` parameters) as a query string, to keep them across tabs and exports."""
        return urlencode({**self.params(), **extra})

    def with_dates(self, date_from: date, date_to: date) -> DashboardFilters:
        return replace(self, date_from=date_from, date_to=date_to, explicit_dates=True)


def default_range_end() -> date:
    """The last closed business day (before the first close: the business day before today)."""
    return last_closed_day() or business_today() - timedelta(days=1)


class DashboardFilterForm(forms.Form):
    """The filter bar: bound to request.GET; `filters()` once valid."""

    product = forms.ChoiceField(label=_("Product"), required=False)
    term = forms.IntegerField(label=_("Term"), required=False, min_value=1, max_value=3650)
    orig_from = MonthField(label=_("Originated from"), required=False)
    orig_to = MonthField(label=_("Originated to"), required=False)

    def __init__(self, data: Any = None, *, range_end: date | None = None) -> None:
        super().__init__(data)
        products = Product.objects.values_list("code", "name")
        self.fields["product"].choices = [("", _("All products")), *products]
        # "from" is a Python keyword, so the date fields are added by name rather than declared.
        bounds = {"validators": [MinValueValidator(EARLIEST_DATE), MaxValueValidator(LATEST_DATE)]}
        self.fields["from"] = forms.DateField(label=_("From"), required=False, input_formats=["%Y-%m-%d"], **bounds)
        self.fields["to"] = forms.DateField(label=_("To"), required=False, input_formats=["%Y-%m-%d"], **bounds)
        self._range_end = range_end

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        orig_from, orig_to = cleaned.get("orig_from"), cleaned.get("orig_to")
        if orig_from and orig_to and orig_from > orig_to:
            self.add_error("orig_to", _("The last origination month is before the first."))
        date_from, date_to = cleaned.get("from"), cleaned.get("to")
        if date_from and date_to:
            if date_from > date_to:
                self.add_error("to", _("The end date is before the start date."))
            elif (date_to - date_from).days >= MAX_DAYS:
                self.add_error("to", _("A date range spans at most %(days)d days.") % {"days": MAX_DAYS})
        return cleaned

    def filters(self) -> DashboardFilters:
        """The cleaned filters; a missing date is taken from the default 90-day window."""
        data = self.cleaned_data
        date_from, date_to = data.get("from"), data.get("to")
        end = date_to or (date_from + timedelta(days=DEFAULT_DAYS - 1) if date_from else None)
        end = end or self._range_end or default_range_end()
        start = date_from or end - timedelta(days=DEFAULT_DAYS - 1)
        return DashboardFilters(
            date_from=start,
            date_to=end,
            product=data.get("product") or "",
            term=data.get("term"),
            orig_from=data.get("orig_from"),
            orig_to=data.get("orig_to"),
            explicit_dates=bool(date_from or date_to),
        )
