"""The activity pages (collections, compliance): exact rates from hand-made day rows, roles, CSV, quiet hours.

CollectionsDay, ComplianceDay and RollRateMonth rows are written directly here (close of
day's fill has its own tests): each page must show exactly what the tables hold in the
URL's dates. Two business days, D1 and D2; D0 lies before the range the tests ask for.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from django.contrib.auth.models import User

from riskdesk.dashboards import activity
from riskdesk.dashboards.filters import DashboardFilters
from riskdesk.dashboards.models import CollectionsDay, ComplianceDay, RollRateMonth
from riskdesk.lending.models import Product
from tests.conftest import client_for

D0, D1, D2 = date(2026, 11, 1), date(2026, 11, 20), date(2026, 11, 21)
RANGE = "from=2026-11-20&to=2026-11-21"
OCT, SEP = date(2026, 10, 31), date(2026, 9, 30)
JAN = date(2026, 1, 1)


def url(page: str, query: str = RANGE) -> str:
    return f"/dashboards/{page}/?{query}"


def day_filters(**fields: object) -> DashboardFilters:
    return DashboardFilters(date_from=D1, date_to=D2, explicit_dates=True, **fields)


def work(day: date, collector: User | None, stage: str, **counts: object) -> None:
    CollectionsDay.objects.create(business_date=day, collector=collector, stage=stage, **counts)


@pytest.fixture
def desk(users: dict[str, User]) -> dict[str, User]:
    """Two days of collections work: the collector and the supervisor, and the unassigned (reminders)."""
    collector, supervisor = users["collector"], users["collections_supervisor"]
    work(D0, collector, "mid", cases_open=9, attempts=100, right_party_contacts=100, recovered=Decimal("5000.00"))
    work(D1, collector, "mid", cases_open=5, attempts=10, right_party_contacts=4, promises_made=2)
    CollectionsDay.objects.filter(business_date=D1, collector=collector).update(
        promises_kept=1, promises_broken=1, recovered=Decimal("300.50")
    )
    work(D1, None, "early", cases_open=2, attempts=6, right_party_contacts=0)
    work(D2, collector, "mid", cases_open=4, attempts=8, right_party_contacts=4, promises_made=1, promises_kept=2)
    CollectionsDay.objects.filter(business_date=D2, collector=collector).update(recovered=Decimal("1000.00"))
    work(D2, supervisor, "late", cases_open=3, attempts=6, right_party_contacts=3, promises_broken=2)
    CollectionsDay.objects.filter(business_date=D2, collector=supervisor).update(recovered=Decimal("99.49"))
    return users


def transition(product: Product, month_end: date, from_bucket: str, to_bucket: str, loans: int, balance: str) -> None:
    RollRateMonth.objects.create(
        month_end=month_end,
        product=product,
        term=12,
        origination_month=JAN,
        from_bucket=from_bucket,
        to_bucket=to_bucket,
        loans=loans,
        balance=Decimal(balance),
    )


@pytest.fixture
def moves(product: Product) -> Product:
    """October's transitions of jiebei and of another product; September's lie outside the range asked."""
    other = Product.objects.create(code="other", name="Other product")
    for from_bucket, to_bucket, loans, balance in (
        ("M0", "M0", 100, "90000.00"),
        ("M1", "M0", 3, "3000.00"),
        ("M1", "M2", 1, "1000.00"),
        ("M1", "paid_off", 1, "500.00"),
        ("M2", "M1", 1, "800.00"),
        ("M2", "M3", 1, "900.00"),
        ("M2", "written_off", 1, "100.00"),
    ):
        transition(product, OCT, from_bucket, to_bucket, loans, balance)
    transition(other, OCT, "M1", "M2", 2, "2000.00")
    transition(product, SEP, "M1", "M0", 50, "50000.00")
    return other


def compliance_rows(quiet_on_d2: int = 0) -> None:
    for day, measure, rule, channel, count in (
        (D0, "blocked", "quiet_hours", "call", 40),
        (D1, "blocked", "quiet_hours", "call", 3),
        (D1, "blocked", "dispute_pause", "sms", 2),
        (D1, "reminder_sent", "", "sms", 10),
        (D1, "reminder_blocked", "quiet_hours", "sms", 1),
        (D1, "complaint", "harassment", "call", 1),
        (D1, "cease_request", "", "", 1),
        (D1, "quiet_hours_contact", "", "", 0),
        (D2, "blocked", "quiet_hours", "call", 1),
        (D2, "reminder_sent", "", "sms", 7),
        (D2, "complaint", "third_party", "letter", 2),
    ):
        ComplianceDay.objects.create(business_date=day, measure=measure, rule=rule, channel=channel, count=count)
    ComplianceDay.objects.create(
        business_date=D2,
        measure="quiet_hours_contact",
        rule="",
        channel="call" if quiet_on_d2 else "",
        count=quiet_on_d2,
    )


def csv_rows(response: object) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))  # type: ignore[attr-defined]


# -- collections: selectors -----------------------------------------------------------------------


def test_collections_headline_rates_are_exact_over_the_range(desk: dict[str, User]) -> None:
    page = activity.collections(day_filters())
    h = page.headline
    assert (h["attempts"], h["right_party_contacts"]) == (30, 11)
    assert h["rpc_rate"] == Decimal(11) / Decimal(30)
    assert (h["promises_kept"], h["promises_broken"], h["kept_rate"]) == (3, 3, Decimal("0.5"))
    assert h["recovered"] == Decimal("1399.99")
    assert (page.as_of, h["cases_open"]) == (D2, 7)


def test_cases_per_stage_are_those_open_on_the_last_day(desk: dict[str, User]) -> None:
    stages = activity.collections(day_filters()).stages
    assert stages.to_dict("records") == [{"stage": "late", "cases_open": 3}, {"stage": "mid", "cases_open": 4}]


def test_the_daily_trend_has_each_days_rates(desk: dict[str, User]) -> None:
    trend = activity.collections(day_filters()).trend
    assert trend["business_date"].tolist() == [D1, D2]
    assert trend["rpc_rate"].tolist() == pytest.approx([4 / 16, 7 / 14])
    assert trend["kept_rate"].tolist() == pytest.approx([0.5, 0.5])
    assert trend["recovered"].tolist() == [Decimal("300.50"), Decimal("1099.49")]


def test_each_collectors_work_with_their_open_cases_on_the_last_day(desk: dict[str, User]) -> None:
    rows = activity.collections(day_filters()).collectors.to_dict("records")
    assert [r["collector"] for r in rows[:2]] == ["collections_supervisor", "collector"]
    assert pd.isna(rows[2]["collector"])  # the unassigned and automatic work, last
    supervisor, collector, unassigned = rows
    assert (collector["attempts"], collector["right_party_contacts"], collector["rpc_rate"]) == (18, 8, 8 / 18)
    assert (collector["promises_kept"], collector["promises_broken"], collector["kept_rate"]) == (3, 1, 0.75)
    assert (collector["recovered"], collector["cases_open"]) == (Decimal("1300.50"), 4)
    assert (supervisor["kept_rate"], supervisor["cases_open"]) == (0.0, 3)
    # No promise decided: no kept rate (not 0%); no case open on D2: 0.
    assert unassigned["kept_rate"] != unassigned["kept_rate"]
    assert (unassigned["attempts"], unassigned["cases_open"]) == (6, 0)


def test_no_collections_day_in_range_gives_no_rates_rather_than_zero(desk: dict[str, User]) -> None:
    page = activity.collections(DashboardFilters(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30)))
    assert page.as_of is None
    assert (page.headline["rpc_rate"], page.headline["kept_rate"], page.headline["recovered"]) == (
        None,
        None,
        Decimal("0.00"),
    )
    assert page.trend.empty and page.collectors.empty and page.stages.empty


def test_the_cure_rate_counts_current_or_paid_off_at_the_next_month_end(moves: Product, product: Product) -> None:
    cure = activity.cure_rates(DashboardFilters(date_from=date(2026, 10, 1), date_to=D2, product=product.code))
    m1, m2 = cure.to_dict("records")
    assert (m1["from_bucket"], m1["loans"], m1["cured_loans"], m1["cure_rate_count"]) == ("M1", 5, 4, 0.8)
    assert (m1["balance"], m1["cured_balance"]) == (Decimal("4500.00"), Decimal("3500.00"))
    assert m1["cure_rate_balance"] == pytest.approx(3500 / 4500)
    # M2 -> M1 is better but not cured; a write-off is not a cure.
    assert (m2["from_bucket"], m2["loans"], m2["cured_loans"], m2["cured_balance"]) == ("M2", 3, 0, Decimal("0.00"))


def test_the_cure_rate_follows_the_product_filter_and_the_dates(moves: Product) -> None:
    every_product = activity.cure_rates(DashboardFilters(date_from=date(2026, 10, 1), date_to=D2))
    assert every_product.set_index("from_bucket").loc["M1", ["loans", "cured_loans"]].tolist() == [7, 4]
    other_only = activity.cure_rates(DashboardFilters(date_from=date(2026, 10, 1), date_to=D2, product="other"))
    assert other_only[["from_bucket", "loans", "cured_loans"]].values.tolist() == [["M1", 2, 0]]
    with_september = activity.cure_rates(DashboardFilters(date_from=date(2026, 9, 1), date_to=D2, product="jiebei"))
    assert with_september.set_index("from_bucket").loc["M1", ["loans", "cured_loans"]].tolist() == [55, 54]


# -- compliance: selectors ------------------------------------------------------------------------


def test_compliance_totals_by_measure_over_the_range(db: None) -> None:
    compliance_rows()
    totals = activity.compliance(day_filters()).totals
    assert totals == {
        "blocked": 6,
        "complaint": 3,
        "cease_request": 1,
        "reminder_sent": 17,
        "reminder_blocked": 1,
        "quiet_hours_contact": 0,
    }


def test_blocked_attempts_by_rule_and_channel_most_first(db: None) -> None:
    compliance_rows()
    blocked = activity.compliance(day_filters()).blocked
    assert blocked.values.tolist() == [["quiet_hours", "call", 4], ["dispute_pause", "sms", 2]]


def test_reminders_sent_and_blocked_by_day(db: None) -> None:
    compliance_rows()
    daily = activity.compliance(day_filters()).daily
    assert daily[["business_date", "reminder_sent", "reminder_blocked", "complaint"]].values.tolist() == [
        [D1, 10, 1, 1],
        [D2, 7, 0, 2],
    ]


def test_quiet_hours_days_list_only_the_days_with_contacts(db: None) -> None:
    compliance_rows(quiet_on_d2=2)
    page = activity.compliance(day_filters())
    assert page.totals["quiet_hours_contact"] == 2
    assert page.quiet_hours_days.values.tolist() == [[D2, 2]]
    assert (page.days_counted, page.days_in_range) == (2, 2)


# -- pages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["collections", "compliance"])
@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("risk_officer", 200), ("collections_supervisor", 200), ("collector", 403)],
)
def test_activity_pages_are_for_admins_risk_officers_and_supervisors(
    users: dict[str, User], page: str, role: str, status: int
) -> None:
    assert client_for(users[role]).get(url(page)).status_code == status


def test_the_collections_page_shows_the_exact_headline_and_each_collector(desk: dict[str, User]) -> None:
    body = client_for(desk["collections_supervisor"]).get(url("collections")).content.decode()
    assert "36.7%" in body  # 11 / 30 right-party contacts
    assert "11 of 30 allowed attempts" in body
    assert "50.0%" in body and "3 kept, 3 broken" in body
    assert "1,399.99" in body
    assert '<td class="num">1,300.50</td>' in body
    assert "unassigned or automatic" in body


def test_the_collectors_table_downloads_as_csv_with_exact_amounts(desk: dict[str, User]) -> None:
    response = client_for(desk["admin"]).get(url("collections", RANGE + "&export=collectors"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response)
    assert [(r["collector"], r["attempts"], r["recovered"], r["cases_open"]) for r in rows] == [
        ("collections_supervisor", "6", "99.49", "3"),
        ("collector", "18", "1300.50", "4"),
        ("", "6", "0.00", "0"),
    ]
    assert rows[1]["kept_rate"] == "0.750000"
    assert rows[2]["kept_rate"] == ""


def test_the_cure_rates_download_as_csv(moves: Product, users: dict[str, User]) -> None:
    response = client_for(users["risk_officer"]).get(
        url("collections", "from=2026-10-01&to=2026-11-21&product=jiebei&export=cure_rates")
    )
    assert [(r["from_bucket"], r["loans"], r["cured_balance"]) for r in csv_rows(response)] == [
        ("M1", "5", "3500.00"),
        ("M2", "3", "0.00"),
    ]


def test_the_blocked_attempts_download_as_csv(users: dict[str, User]) -> None:
    compliance_rows()
    response = client_for(users["risk_officer"]).get(url("compliance", RANGE + "&export=blocked_by_rule"))
    assert csv_rows(response) == [
        {"rule": "quiet_hours", "channel": "call", "count": "4"},
        {"rule": "dispute_pause", "channel": "sms", "count": "2"},
    ]


def test_the_quiet_hours_card_reads_zero_when_none_were_counted(users: dict[str, User]) -> None:
    compliance_rows()
    body = client_for(users["admin"]).get(url("compliance")).content.decode()
    assert 'class="card good quiet-hours"' in body
    assert "counted on 2 days" in body
    assert 'class="card bad quiet-hours"' not in body


def test_the_quiet_hours_card_turns_red_listing_the_days(users: dict[str, User]) -> None:
    compliance_rows(quiet_on_d2=2)
    body = client_for(users["admin"]).get(url("compliance")).content.decode()
    assert 'class="card bad quiet-hours" id="quiet-hours" role="alert"' in body
    assert '<span class="mono">2026-11-21</span> (2)' in body
    assert "2026-11-20</span>" not in body


def test_the_quiet_hours_card_does_not_claim_zero_before_any_day_is_counted(users: dict[str, User]) -> None:
    body = client_for(users["admin"]).get(url("compliance")).content.decode()
    assert "Not counted yet" in body
    assert 'class="card good quiet-hours"' not in body


def test_the_compliance_page_names_complaint_categories_in_the_desks_words(users: dict[str, User]) -> None:
    compliance_rows()
    body = client_for(users["risk_officer"]).get(url("compliance")).content.decode()
    assert "third party contacted or told" in body
    assert "harassment or too many contacts" in body


def test_the_compliance_page_disables_the_loan_segment_filters_but_keeps_them_for_other_tabs(
    users: dict[str, User], product: Product
) -> None:
    body = client_for(users["risk_officer"]).get(url("compliance", RANGE + "&product=jiebei&term=12")).content.decode()
    assert '<fieldset class="segment-fields" disabled' in body
    assert '<input type="hidden" name="product" value="jiebei">' in body
    assert '<input type="hidden" name="term" value="12">' in body
    assert "Only the dates filter this page." in body


def test_the_collections_page_says_the_segment_filters_reach_only_the_cure_rate(users: dict[str, User]) -> None:
    body = client_for(users["risk_officer"]).get(url("collections")).content.decode()
    assert "filter the cure rate only" in body
    assert "segment-fields" not in body


def test_a_supervisor_sees_only_the_activity_tabs(users: dict[str, User]) -> None:
    body = client_for(users["collections_supervisor"]).get(url("collections")).content.decode()
    assert 'href="/dashboards/compliance/' in body
    assert 'href="/dashboards/portfolio/' not in body and 'href="/operations/"' not in body


def test_empty_dates_render_the_no_data_state(users: dict[str, User]) -> None:
    for page in ("collections", "compliance"):
        response = client_for(users["admin"]).get(url(page, "from=2026-06-01&to=2026-06-30"))
        assert response.status_code == 200
        assert "No data for these filters" in response.content.decode()


def test_a_bad_date_is_a_400_naming_the_field(users: dict[str, User]) -> None:
    response = client_for(users["admin"]).get(url("compliance", "from=2026-13-01"))
    assert response.status_code == 400
    assert "(from)" in response.content.decode()


@pytest.mark.parametrize("page", ["collections", "compliance"])
def test_the_activity_pages_read_only_the_aggregates(desk: dict[str, User], moves: Product, page: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    compliance_rows()
    admin = client_for(desk["admin"])
    with CaptureQueriesContext(connection) as queries:
        assert admin.get(url(page, "from=2026-10-01&to=2026-11-21")).status_code == 200
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    for scanned in (
        "collections_contactattempt",
        "collections_case",
        "collections_promise",
        "lending_payment",
        "lending_installment",
        'lending_loan"',
    ):
        assert scanned not in sql
    # Session, user, roles, the filter bar's products, then one grouped query per table.
    assert len(queries.captured_queries) <= 10
