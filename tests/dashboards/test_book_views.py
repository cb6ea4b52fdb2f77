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
from riskdesk.dashboards.models import ExpectedLossDay, LossGivenDefault, RollRateMonth, VintagePoint
from riskdesk.lending.models import Bucket, PortfolioSnapshot, Product
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


@pytest.mark.parametrize(("query", "field"), [("from=9999-12-31", "from"), ("to=0001-01-01", "to")])
def test_a_far_date_is_a_400_not_an_overflow(officer: Client, query: str, field: str) -> None:
    response = officer.get(url("portfolio", query))
    assert response.status_code == 400
    assert f"({field}):" in response.content.decode()


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


SEP, OCT = date(2026, 9, 30), date(2026, 10, 31)


def roll(month_end: date, product: Product, frm: str, to: str, loans: int, balance: str) -> None:
    RollRateMonth.objects.create(
        month_end=month_end,
        product=product,
        term=12,
        origination_month=JAN,
        from_bucket=frm,
        to_bucket=to,
        loans=loans,
        balance=Decimal(balance),
    )


@pytest.fixture
def rolls(product: Product, other: Product) -> None:
    """Two month ends of transitions; October's M0 row splits 9 loans current / 1 to M1."""
    ClosedDay.objects.create(business_date=D2)
    roll(OCT, product, "M0", "M0", 9, "9000.00")
    roll(OCT, product, "M0", "M1", 1, "1000.00")
    roll(OCT, product, "M1", "M2", 1, "500.00")
    roll(OCT, product, "M1", "paid_off", 1, "1500.00")
    roll(OCT, other, "M0", "M1", 2, "1000.00")
    roll(SEP, product, "M0", "M1", 3, "3000.00")
    roll(SEP, product, "M0", "M0", 1, "1000.00")


def test_roll_rates_show_the_latest_month_end_in_range(officer: Client, rolls: None) -> None:
    response = officer.get(url("roll-rates", "product=jiebei&from=2026-09-01&to=2026-11-20"))
    assert response.status_code == 200
    assert response.context["shown_month"] == OCT
    transitions = response.context["transitions"]
    assert list(transitions.columns[:5]) == ["month_end", "from_bucket", "to_bucket", "loans", "balance"]
    cell = transitions[(transitions["from_bucket"] == "M0") & (transitions["to_bucket"] == "M1")]
    assert (int(cell["loans"].iloc[0]), cell["balance"].iloc[0]) == (1, Decimal("1000.00"))


def test_roll_rates_month_selector_picks_a_month_end(officer: Client, rolls: None) -> None:
    response = officer.get(url("roll-rates", "product=jiebei&from=2026-09-01&to=2026-11-20&month=2026-09"))
    assert response.context["shown_month"] == SEP
    assert sorted(
        zip(response.context["transitions"]["to_bucket"], response.context["transitions"]["loans"], strict=True)
    ) == [
        ("M0", 1),
        ("M1", 3),
    ]


def test_roll_rates_month_outside_the_range_is_a_400(officer: Client, rolls: None) -> None:
    response = officer.get(url("roll-rates", "from=2026-10-01&to=2026-11-20&month=2026-09"))
    assert response.status_code == 400
    assert "month: No roll rates for month ending in 2026-09" in response.content.decode()


def test_flow_rates_pool_the_range_and_imply_a_loss(officer: Client, rolls: None, product: Product) -> None:
    # Given today's current (M0) balance for jiebei
    snapshot(D2, product, 12, JAN, "M0", 20, "20000.00")
    response = officer.get(url("roll-rates", "product=jiebei&from=2026-09-01&to=2026-11-20"))
    flows = response.context["flows"].set_index("from_bucket")
    # M0 -> M1 pooled over September and October: (1000 + 3000) / (10000 + 4000)
    assert (flows.loc["M0", "rolled"], flows.loc["M0", "balance"]) == (Decimal("4000.00"), Decimal("14000.00"))
    assert flows.loc["M1", "rate"] == pytest.approx(0.25)
    # M2 onwards had no balance: the chain is unknown, no loss is implied
    assert response.context["implied_loss"] is None


def test_roll_rates_csv_keeps_the_month_shown(officer: Client, rolls: None) -> None:
    query = "product=jiebei&from=2026-09-01&to=2026-11-20&month=2026-09"
    page = officer.get(url("roll-rates", query))
    assert "?" + f"{query}&export=transitions".replace("&", "&amp;") in page.content.decode()
    rows = read_csv(officer.get(url("roll-rates", query + "&export=transitions")))
    assert rows == [
        ["month_end", "from_bucket", "to_bucket", "loans", "balance"],
        ["2026-09-30", "M0", "M0", "1", "1000.00"],
        ["2026-09-30", "M0", "M1", "3", "3000.00"],
    ]


def vintage(month: date, product: Product, mob: int, loans: int, ever30: int, ever90: int = 0) -> None:
    VintagePoint.objects.create(
        origination_month=month,
        product=product,
        term=12,
        months_on_book=mob,
        loans=loans,
        principal=Decimal(loans * 1000),
        ever30_loans=ever30,
        ever30_principal=Decimal(ever30 * 1000),
        ever90_loans=ever90,
        ever90_principal=Decimal(ever90 * 1000),
    )


def test_vintage_curves_add_products_of_one_month(officer: Client, product: Product, other: Product) -> None:
    vintage(JAN, product, 3, 40, 4)
    vintage(JAN, other, 3, 10, 1, 1)
    vintage(FEB, product, 3, 20, 5)
    response = officer.get(url("vintages"))
    curves = response.context["curves"]
    point = curves[(curves["origination_month"] == JAN) & (curves["months_on_book"] == 3)].iloc[0]
    assert (int(point["loans"]), int(point["ever30_loans"]), point["ever30_share"]) == (50, 5, 0.1)
    assert point["ever90_principal"] == Decimal("1000.00")
    # the table: newest vintage first, ever 30+ at 3, 6 and 12 months on book (not reached: None)
    assert [(r["origination_month"], int(r["loans"]), r["milestones"]) for r in response.context["vintage_rows"]] == [
        (FEB, 20, [0.25, None, None]),
        (JAN, 50, [0.1, None, None]),
    ]


def test_vintages_filter_by_product_and_origination_month(officer: Client, product: Product, other: Product) -> None:
    vintage(JAN, product, 3, 40, 4)
    vintage(JAN, other, 3, 10, 1)
    vintage(FEB, product, 3, 20, 5)
    curves = officer.get(url("vintages", "product=jiebei&orig_from=2026-02")).context["curves"]
    assert list(zip(curves["origination_month"], curves["ever30_share"], strict=True)) == [(FEB, 0.25)]


def el_row(product: Product, stage: int, source: str, loans: int, ead: str, ecl: str, day: date = D2) -> None:
    ExpectedLossDay.objects.create(
        business_date=day,
        product=product,
        term=12,
        origination_month=JAN,
        stage=stage,
        pd_source=source,
        loans=loans,
        ead=Decimal(ead),
        pd_ead=Decimal(ecl) * 2,
        lgd=Decimal("0.5"),
        ecl=Decimal(ecl),
    )


def test_expected_loss_by_stage_on_the_last_day(officer: Client, product: Product, other: Product) -> None:
    ClosedDay.objects.create(business_date=D2)
    el_row(product, 1, "score", 100, "100000.00", "1000.00")
    el_row(product, 1, "roll_rate", 10, "5000.00", "100.05")
    el_row(other, 2, "roll_rate", 5, "2000.00", "300.00")
    el_row(product, 3, "default", 2, "1000.00", "500.00")
    el_row(product, 3, "default", 1, "999.00", "499.50", day=D1)
    LossGivenDefault.objects.create(effective_from=date(2026, 1, 1), lgd=Decimal("0.5"))
    response = officer.get(url("expected-loss"))
    assert response.context["as_of"] == D2
    by_stage = response.context["by_stage"]
    assert [
        (s, int(n), e, c)
        for s, n, e, c in zip(by_stage["stage"], by_stage["loans"], by_stage["ead"], by_stage["ecl"], strict=True)
    ] == [
        (1, 110, Decimal("105000.00"), Decimal("1100.05")),
        (2, 5, Decimal("2000.00"), Decimal("300.00")),
        (3, 2, Decimal("1000.00"), Decimal("500.00")),
    ]
    assert response.context["totals"]["ecl"] == Decimal("1900.05")
    assert [(r["product"], r["lgd"]) for r in response.context["lgd_rows"]] == [("", Decimal("0.5000"))]


def test_expected_loss_without_rows_shows_zero_stages(officer: Client) -> None:
    response = officer.get(url("expected-loss"))
    assert response.status_code == 200
    assert list(response.context["by_stage"]["ecl"]) == [Decimal("0.00")] * 3
    assert "No data for these filters" in response.content.decode()


def test_expected_loss_csv_by_stage(officer: Client, product: Product) -> None:
    ClosedDay.objects.create(business_date=D2)
    el_row(product, 2, "roll_rate", 5, "2000.00", "300.00")
    rows = read_csv(officer.get(url("expected-loss", "export=by_stage")))
    assert rows == [
        ["stage", "loans", "ead", "ecl", "coverage"],
        ["1", "0", "0.00", "0.00", ""],
        ["2", "5", "2000.00", "300.00", "0.150000"],
        ["3", "0", "0.00", "0.00", ""],
    ]


def test_the_flow_chain_to_write_off_implies_a_loss_on_the_current_balance(officer: Client, product: Product) -> None:
    # Given half of each bucket's balance rolling one bucket on in October, and half of M7+ written off
    chain = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+", "written_off"]
    for frm, to in zip(chain, chain[1:], strict=False):
        roll(OCT, product, frm, "M0" if to != "written_off" else frm, 1, "500.00")
        roll(OCT, product, frm, to, 1, "500.00")
    snapshot(D2, product, 12, JAN, "M0", 20, "20000.00")
    ClosedDay.objects.create(business_date=D2)
    # When the risk officer opens the roll rates over October
    response = officer.get(url("roll-rates", "from=2026-10-01&to=2026-11-20"))
    # Then the chain runs on past the last bucket to written off, each step 50%, the chain 0.5 ** 8,
    # and the loss it implies that share of the current balance on the range's last date
    flows = response.context["flows"]
    assert list(zip(flows["from_bucket"], flows["to_bucket"], strict=True))[-1] == ("M7+", "written_off")
    assert list(flows["rate"]) == [0.5] * 8
    assert response.context["implied_rate"] == Decimal("0.00390625")
    assert (response.context["current_day"], response.context["current_balance"]) == (D2, Decimal("20000.00"))
    assert response.context["implied_loss"] == Decimal("78.13")
    page = response.content.decode()
    assert "The chain's last step runs from the last bucket, M7+ (181 or more days past due)" in page
    assert "the M0 balance on 2026-11-20 (the last business date in the range)" in page


def test_without_write_offs_the_chain_ends_at_the_configured_last_bucket(officer: Client, product: Product) -> None:
    # Given an admin-added last bucket M8+ (211 days or more) and no write-off in the dates
    Bucket.objects.filter(code="M7+").update(max_dpd=210)
    Bucket.objects.create(code="M8+", label="M8+", min_dpd=211)
    roll(OCT, product, "M0", "M1", 1, "500.00")
    ClosedDay.objects.create(business_date=D2)
    response = officer.get(url("roll-rates", "from=2026-10-01&to=2026-11-20"))
    # Then the chain ends at M8+, and the definition names it rather than a fixed M7+
    assert list(response.context["flows"]["to_bucket"])[-1] == "M8+"
    page = response.content.decode()
    assert "the chain ends at the last bucket: reaching M8+ (211 or more days past due" in page
    assert "M7+, over 180" not in page
