"""The dashboards' filter bar: parsing, defaults, errors, and the querysets it narrows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from riskdesk.core.models import ClosedDay
from riskdesk.dashboards.filters import DashboardFilterForm, DashboardFilters
from riskdesk.lending.models import PortfolioSnapshot, Product


def _form(**params: str) -> DashboardFilterForm:
    return DashboardFilterForm(params)


@pytest.mark.django_db
def test_dates_default_to_the_90_days_ending_at_the_last_closed_day() -> None:
    ClosedDay.objects.create(business_date=date(2026, 11, 20))
    form = _form()
    assert form.is_valid()
    filters = form.filters()
    assert (filters.date_from, filters.date_to) == (date(2026, 8, 23), date(2026, 11, 20))
    assert filters.query_string() == ""


@pytest.mark.django_db
def test_explicit_filters_are_parsed_and_kept_in_the_query_string(product: Product) -> None:
    form = _form(
        product="jiebei",
        term="12",
        orig_from="2026-01",
        orig_to="2026-03",
        **{"from": "2026-10-01", "to": "2026-10-31"},
    )
    assert form.is_valid(), form.errors
    filters = form.filters()
    assert filters == DashboardFilters(
        date_from=date(2026, 10, 1),
        date_to=date(2026, 10, 31),
        product="jiebei",
        term=12,
        orig_from=date(2026, 1, 1),
        orig_to=date(2026, 3, 1),
        explicit_dates=True,
    )
    assert filters.query_string(export="x") == (
        "product=jiebei&term=12&orig_from=2026-01&orig_to=2026-03&from=2026-10-01&to=2026-10-31&export=x"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"product": "nope"}, "product"),
        ({"term": "twelve"}, "term"),
        ({"term": "0"}, "term"),
        ({"orig_from": "2026-13"}, "orig_from"),
        ({"orig_from": "2026-05", "orig_to": "2026-04"}, "orig_to"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-10-02", "to": "2026-10-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-10-01"}, "to"),
        # A lone far date: the other end would be counted past date.max / before date.min.
        ({"from": "9999-12-31"}, "from"),
        ({"to": "0001-01-01"}, "to"),
    ],
)
def test_bad_input_is_an_error_on_its_field(params: dict[str, str], field: str) -> None:
    form = _form(**params)
    assert not form.is_valid()
    assert list(form.errors) == [field]


@pytest.mark.django_db
def test_apply_narrows_by_product_term_origination_and_dates(product: Product) -> None:
    other = Product.objects.create(code="other", name="Other")
    rows = [
        (date(2026, 10, 31), product, 12, date(2026, 1, 1)),
        (date(2026, 10, 31), product, 6, date(2026, 1, 1)),
        (date(2026, 10, 31), other, 12, date(2026, 1, 1)),
        (date(2026, 10, 31), product, 12, date(2025, 12, 1)),
        (date(2026, 9, 30), product, 12, date(2026, 1, 1)),
    ]
    for day, prod, term, month in rows:
        PortfolioSnapshot.objects.create(
            business_date=day,
            product=prod,
            term=term,
            origination_month=month,
            bucket="M0",
            loans=1,
            outstanding_principal=Decimal("1.00"),
            overdue_amount=Decimal("0"),
            penalty_accrued=Decimal("0"),
        )
    filters = DashboardFilters(
        date_from=date(2026, 10, 1),
        date_to=date(2026, 10, 31),
        product="jiebei",
        term=12,
        orig_from=date(2026, 1, 1),
        orig_to=date(2026, 2, 1),
    )
    kept = filters.apply(PortfolioSnapshot.objects.all())
    assert list(kept.values_list("business_date", "product__code", "term", "origination_month")) == [
        (date(2026, 10, 31), "jiebei", 12, date(2026, 1, 1))
    ]
