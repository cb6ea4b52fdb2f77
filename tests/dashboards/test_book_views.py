"""The book pages: access, filters, exact headline figures, CSV exports and the no-data state.

Aggregate rows are written directly here (close of day's fill has its own tests): each
page must show exactly what the tables hold, narrowed by the URL's filters.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from riskdesk.core.models import ClosedDay
from riskdesk.lending.models import PortfolioSnapshot, Product
from tests.conftest import client_for

D1, D2 = date(2026, 10, 31), date(2026, 11, 20)
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
PAGES = ["portfolio", "roll-rates", "vintages", "expected-loss"]


def url(page: str, query: str = "") -> str:
    return f"/dashboards/{page}/" + (f"?{query}" if query else "")


def snapshot(
    day: date, product: Product, term: int, month: date, bucket: str, loans: int, principal: str, **dpd: object
) -> None:
    """A portfolio snapshot row; `dpd` sets dpd1/30/90 loans and principal (default 0)."""
    PortfolioSnapshot.objects.create(
        business_date=day,
        product=product,
        term=term,
        origination_month=month,
        bucket=bucket,
        loans=loans,
        outstanding_principal=Decimal(principal),
        overdue_amount=Decimal("0"),
        penalty_accrued=Decimal("0"),
        **{k: (Decimal(v) if k.endswith("principal") else v) for k, v in dpd.items()},
    )


@pytest.fixture
def other(db: None) -> Product:
    return Product.objects.create(code="other", name="Other product")


@pytest.fixture
def book(product: Product, other: Product) -> None:
    """Two business days of a small book: jiebei 12 months (Jan and Feb vintages) and other 6 months."""
    ClosedDay.objects.create(business_date=D2)
    for day, late in ((D1, "100.00"), (D2, "400.00")):
        snapshot(day, product, 12, JAN, "M0", 10, "10000.00")
        snapshot(
            day, product, 12, JAN, "M2", 2, late, dpd1_loans=2, dpd1_principal=late, dpd30_loans=2, dpd30_principal=late
        )
        snapshot(
            day,
            product,
            12,
            FEB,
            "M4",
            1,
            "300.00",
            dpd1_loans=1,
            dpd1_principal="300.00",
            dpd30_loans=1,
            dpd30_principal="300.00",
            dpd90_loans=1,
            dpd90_principal="300.00",
        )
        snapshot(day, other, 6, JAN, "M1", 3, "900.00", dpd1_loans=3, dpd1_principal="900.00")


@pytest.fixture
def officer(users: dict[str, User]) -> Client:
    return client_for(users["risk_officer"])


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["risk_officer", "admin"])
def test_pages_open_for_risk_officers_and_admins(users: dict[str, User], page: str, role: str) -> None:
    assert client_for(users[role]).get(url(page)).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_pages_are_forbidden_to_collectors(users: dict[str, User], page: str) -> None:
    assert client_for(users["collector"]).get(url(page)).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_a_bad_filter_is_a_400_naming_the_field(officer: Client, page: str) -> None:
    response = officer.get(url(page, "orig_from=2026-13"))
    assert response.status_code == 400
    assert "(orig_from): Enter a month as YYYY-MM." in response.content.decode()


def test_portfolio_headline_is_the_last_day_of_the_range(officer: Client, book: None) -> None:
    response = officer.get(url("portfolio"))
    assert response.status_code == 200
    assert response.context["as_of"] == D2
    assert response.context["headline"] == {
        "outstanding_principal": Decimal("11600.00"),
        "loans": 16,
        "dpd1_principal": Decimal("1600.00"),
        "dpd30_principal": Decimal("700.00"),
        "dpd90_principal": Decimal("300.00"),
        "dpd1_loans": 6,
        "dpd30_loans": 3,
        "dpd90_loans": 1,
    }
    assert response.context["ratios"]["dpd30_balance"] == Decimal("0.0603")
    assert response.context["ratios"]["dpd30_count"] == Decimal("0.1875")


def test_portfolio_filters_narrow_the_headline(officer: Client, book: None) -> None:
    response = officer.get(url("portfolio", "product=jiebei&term=12&orig_to=2026-01&from=2026-10-01&to=2026-10-31"))
    assert response.context["as_of"] == D1
    headline = response.context["headline"]
    assert (headline["outstanding_principal"], headline["loans"], headline["dpd30_principal"]) == (
        Decimal("10100.00"),
        12,
        Decimal("100.00"),
    )


def test_portfolio_top_movers_rank_dpd30_growth(officer: Client, book: None) -> None:
    movers = officer.get(url("portfolio", "from=2026-10-31&to=2026-11-20")).context["movers"]
    assert [(m["product"], m["term"], m["origination_month"], m["change"]) for m in movers] == [
        ("jiebei", 12, JAN, Decimal("300.00"))
    ]


def read_csv(response) -> list[list[str]]:  # noqa: ANN001 - a test client response
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_portfolio_csv_export_is_exact_with_a_named_file(officer: Client, book: None) -> None:
    response = officer.get(url("portfolio", "product=jiebei&from=2026-11-01&to=2026-11-30&export=by_product_term"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="riskdesk-portfolio-by_product_term-2026-11-01-2026-11-30.csv"'
    )
    rows = read_csv(response)
    assert rows[0][:4] == ["product", "term", "loans", "outstanding_principal"]
    assert rows[1][:9] == ["jiebei", "12", "13", "10700.00", "3", "700.00", "3", "700.00", "1"]
    assert len(rows) == 2


def test_an_unknown_export_is_a_400(officer: Client, book: None) -> None:
    response = officer.get(url("portfolio", "export=nope"))
    assert response.status_code == 400
    assert "export: no table named" in response.content.decode()


def test_portfolio_without_snapshots_shows_the_no_data_state(officer: Client) -> None:
    response = officer.get(url("portfolio"))
    assert response.status_code == 200
    assert response.context["headline"]["outstanding_principal"] == Decimal("0.00")
    assert "No data for these filters" in response.content.decode()
