"""The dashboards step's tables on hand-built cases: exact rows, the rules they follow, reruns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db.models import Max

from riskdesk import nightly
from riskdesk.collections.gate import contact_policy_in_force
from riskdesk.collections.models import (
    Case,
    Complaint,
    ContactAttempt,
    ContactPolicy,
    ContactRestriction,
    Promise,
    QuietHoursConsent,
)
from riskdesk.core.jobs import step_run
from riskdesk.core.models import ClosedDay
from riskdesk.dashboards import aggregates
from riskdesk.dashboards.models import (
    CollectionsDay,
    ComplianceDay,
    ExpectedLossDay,
    LossGivenDefault,
    RollRateMonth,
    VintagePoint,
)
from riskdesk.lending import closeday, services
from riskdesk.lending.models import Borrower, BucketHistory, Loan, LoanMonthSnapshot, PortfolioSnapshot, Product
from riskdesk.riskmodels.models import BandChange
from tests.riskmodels.test_scoring_step import scorecard_version

D = Decimal
pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 22)
SHANGHAI, LONDON = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/London")


def state(loan: Loan, **fields: Any) -> Loan:
    """Put a loan in the state a night would leave it in (dpd, bucket, balance, band)."""
    Loan.objects.filter(pk=loan.pk).update(**fields)
    loan.refresh_from_db()
    return loan


def other_borrower(k: int, zone: str = "Asia/Shanghai") -> Borrower:
    return services.borrower_register(
        name=f"other {k}", national_id=f"22010119900101{k:04d}", phones=[{"number": f"1390000{k:04d}"}], timezone=zone
    )


def test_the_dashboards_step_comes_after_every_step_that_writes_what_it_counts() -> None:
    # Only the retention purge (which never touches a day the recount reaches) and the
    # book's audit (which writes nothing) come after it.
    assert [step.name for step in nightly.STEPS[-3:]] == [
        "dashboards.aggregates",
        "core.retention",
        "lending.audit_book",
    ]
    assert nightly.STEPS[-3] is aggregates.AGGREGATES_STEP
    assert aggregates.parts(DAY) == [(0, 0), (1, 1), (2, 2), (3, 3)]


# -- portfolio snapshot (close of day step 2) --------------------------------------------


def test_the_portfolio_snapshot_counts_loans_past_0_30_and_90_days(make_loan: Callable[..., Loan]) -> None:
    state(make_loan(), dpd=0, bucket="M0", outstanding_principal=D("1000.00"))
    state(make_loan(), dpd=30, bucket="M1", outstanding_principal=D("2000.00"))
    state(make_loan(), dpd=31, bucket="M2", outstanding_principal=D("3000.50"))
    state(make_loan(), dpd=91, bucket="M4", outstanding_principal=D("4000.25"))
    closeday.snapshot_chunk(DAY, 0, 0)
    rows = PortfolioSnapshot.objects.filter(business_date=DAY)
    by_bucket = {
        r.bucket: (r.dpd1_loans, r.dpd1_principal, r.dpd30_loans, r.dpd30_principal, r.dpd90_loans, r.dpd90_principal)
        for r in rows
    }
    assert by_bucket == {
        "M0": (0, D("0.00"), 0, D("0.00"), 0, D("0.00")),
        "M1": (1, D("2000.00"), 0, D("0.00"), 0, D("0.00")),
        "M2": (1, D("3000.50"), 1, D("3000.50"), 0, D("0.00")),
        "M4": (1, D("4000.25"), 1, D("4000.25"), 1, D("4000.25")),
    }


# -- roll rates ----------------------------------------------------------------------------


def snapshot(loan: Loan, month_end: date, bucket: str, balance: str, status: str = "active") -> None:
    LoanMonthSnapshot.objects.create(
        month_end=month_end, loan=loan, dpd=0, bucket=bucket, outstanding_principal=D(balance), status=status
    )


def test_roll_rates_follow_each_loan_from_one_month_end_to_the_next(make_loan: Callable[..., Loan]) -> None:
    october, november = date(2026, 10, 31), date(2026, 11, 30)
    rolled, left, paid_on_the_day, written_off, new = (make_loan() for _ in range(5))
    snapshot(rolled, october, "M1", "1000.00")
    snapshot(rolled, november, "M2", "990.00")
    snapshot(left, october, "M0", "2000.00")
    state(left, status="paid_off", outstanding_principal=D("0.00"))
    snapshot(paid_on_the_day, october, "M0", "3000.00")
    snapshot(paid_on_the_day, november, "M0", "0.00", status="paid_off")
    snapshot(written_off, october, "M3", "4000.00")
    state(written_off, status="written_off")
    snapshot(new, november, "M0", "5000.00")
    assert aggregates.roll_rates_build(date(2026, 11, 29)) == 0
    aggregates.roll_rates_build(november)
    rows = RollRateMonth.objects.filter(month_end=november).values_list("from_bucket", "to_bucket", "loans", "balance")
    assert sorted(rows) == [
        ("M0", "paid_off", 2, D("5000.00")),
        ("M1", "M2", 1, D("1000.00")),
        ("M3", "written_off", 1, D("4000.00")),
    ]


def roll(month_end: date, from_bucket: str, to_bucket: str, loans: int, product: Product) -> None:
    RollRateMonth.objects.create(
        month_end=month_end,
        product=product,
        term=12,
        origination_month=date(2026, 1, 1),
        from_bucket=from_bucket,
        to_bucket=to_bucket,
        loans=loans,
        balance=D("1.00"),
    )


@pytest.fixture
def roll_history(product: Product) -> None:
    roll(date(2026, 7, 31), "M1", "M2", 10, product)  # the fourth month back: not pooled
    roll(date(2026, 8, 31), "M1", "M0", 1, product)
    roll(date(2026, 9, 30), "M1", "M1", 1, product)
    roll(date(2026, 10, 31), "M1", "M2", 1, product)
    roll(date(2026, 10, 31), "M1", "M0", 1, product)
    roll(date(2026, 10, 31), "M0", "M0", 3, product)
    roll(date(2026, 10, 31), "M0", "paid_off", 1, product)
    roll(date(2026, 10, 31), "M0", "M1", 1, product)


def test_roll_rate_pd_pools_the_last_three_months_and_falls_back_for_an_unseen_bucket(roll_history: None) -> None:
    pds, fallback = aggregates.roll_rate_pds(DAY)
    # M1: 4 loans in Aug-Oct, 1 worse; M0: 5, 1 worse (paid off is not worse); pooled 2 of 9.
    assert pds == {"M1": D("0.250000"), "M0": D("0.200000")}
    assert fallback == D("0.222222")


def test_without_roll_rate_history_the_pd_is_zero() -> None:
    assert aggregates.roll_rate_pds(DAY) == ({}, D("0.000000"))


# -- expected loss -------------------------------------------------------------------------


def band_change(loan: Loan, on: date, from_band: str, to_band: str, version: Any, *, switch: bool = False) -> None:
    BandChange.objects.create(
        loan=loan, on=on, model_version=version, from_band=from_band, to_band=to_band, model_switch=switch
    )


def test_expected_loss_by_stage_and_pd_source(make_loan: Callable[..., Loan], roll_history: None) -> None:
    version = scorecard_version()
    steady = state(make_loan(), outstanding_principal=D("10000.00"), risk_band="B", risk_pd=D("0.020000"))
    band_change(steady, date(2026, 6, 1), "", "B", version)
    worse = state(make_loan(), dpd=5, bucket="M1", outstanding_principal=D("8000.00"), risk_band="D", risk_pd=D("0.15"))
    band_change(worse, date(2026, 6, 1), "", "B", version)
    band_change(worse, date(2026, 9, 1), "B", "D", version)
    state(make_loan(), dpd=10, bucket="M1", outstanding_principal=D("6000.00"))
    state(make_loan(), dpd=40, bucket="M2", outstanding_principal=D("3000.00"))
    state(make_loan(), dpd=95, bucket="M4", outstanding_principal=D("5000.00"), risk_band="E", risk_pd=D("0.9"))
    state(make_loan(), status="paid_off", outstanding_principal=D("0.00"))
    aggregates.expected_loss_build(DAY)
    rows = ExpectedLossDay.objects.filter(business_date=DAY).values_list(
        "stage", "pd_source", "loans", "ead", "pd_ead", "lgd", "ecl"
    )
    assert sorted(rows) == [
        (1, "roll_rate", 1, D("6000.00"), D("1500.000000"), D("0.4500"), D("675.00")),  # M1: 0.25
        (1, "score", 1, D("10000.00"), D("200.000000"), D("0.4500"), D("90.00")),
        (2, "roll_rate", 1, D("3000.00"), D("666.666000"), D("0.4500"), D("300.00")),  # M2 unseen: 0.222222
        (2, "score", 1, D("8000.00"), D("1200.000000"), D("0.4500"), D("540.00")),  # band B -> D
        (3, "default", 1, D("5000.00"), D("5000.000000"), D("0.4500"), D("2250.00")),
    ]


def test_a_champion_switch_is_not_a_band_downgrade(make_loan: Callable[..., Loan]) -> None:
    """v1 bands the loan B; v2, promoted, bands it C (a switch): stage 1. v2 then moves it to D: stage 2."""
    v1, v2 = scorecard_version(status="retired"), scorecard_version(version=2)
    loan = state(make_loan(), outstanding_principal=D("1000.00"), risk_band="C", risk_pd=D("0.050000"))
    band_change(loan, date(2026, 6, 1), "", "B", v1)
    band_change(loan, date(2026, 10, 1), "B", "C", v2, switch=True)
    aggregates.expected_loss_build(DAY)
    assert list(ExpectedLossDay.objects.values_list("stage", flat=True)) == [1]
    state(loan, risk_band="D")
    band_change(loan, date(2026, 11, 1), "C", "D", v2)
    aggregates.expected_loss_build(DAY)
    assert list(ExpectedLossDay.objects.values_list("stage", flat=True)) == [2]


def test_expected_loss_rounds_half_up_to_the_cent(make_loan: Callable[..., Loan], product: Product) -> None:
    # LGD 0.5 x PD 0.5 x EAD 0.02 = 0.005: half-up makes it 0.01 (half-even would say 0.00).
    LossGivenDefault.objects.create(product=product, effective_from=date(2026, 1, 1), lgd=D("0.5000"))
    state(make_loan(), outstanding_principal=D("0.02"), risk_pd=D("0.500000"), risk_band="C")
    aggregates.expected_loss_build(DAY)
    assert ExpectedLossDay.objects.values_list("pd_ead", "ecl").get() == (D("0.010000"), D("0.01"))


def test_the_products_own_lgd_beats_the_default_and_future_versions_wait(product: Product) -> None:
    other = Product.objects.create(code="other", name="other", methods=["bullet"], terms=[30])
    LossGivenDefault.objects.create(product=product, effective_from=date(2026, 6, 1), lgd=D("0.6000"))
    LossGivenDefault.objects.create(product=None, effective_from=date(2026, 12, 1), lgd=D("0.5000"))
    assert aggregates.lgd_in_force(DAY) == {product.pk: D("0.6000"), other.pk: D("0.4500")}
    assert aggregates.lgd_in_force(date(2026, 5, 31)) == {product.pk: D("0.4500"), other.pk: D("0.4500")}
    assert aggregates.lgd_in_force(date(2026, 12, 1)) == {product.pk: D("0.6000"), other.pk: D("0.5000")}


def test_expected_loss_uses_the_lgd_in_force(make_loan: Callable[..., Loan], product: Product) -> None:
    LossGivenDefault.objects.create(product=product, effective_from=DAY, lgd=D("0.3333"))
    state(make_loan(), dpd=120, bucket="M4", outstanding_principal=D("1000.00"))
    aggregates.expected_loss_build(DAY)
    assert ExpectedLossDay.objects.values_list("lgd", "ecl").get() == (D("0.3333"), D("333.30"))


# -- vintages ------------------------------------------------------------------------------


def test_vintage_points_count_each_loan_from_the_month_it_first_passed_30_and_90(
    make_loan: Callable[..., Loan], product: Product
) -> None:
    early = make_loan(principal="12000.00")
    BucketHistory.objects.create(loan=early, on=date(2026, 3, 3), from_bucket="M1", to_bucket="M2", dpd=31)
    late = state(make_loan(principal="6000.00"), dpd=95, bucket="M4")
    BucketHistory.objects.create(loan=late, on=date(2026, 8, 20), from_bucket="M1", to_bucket="M2", dpd=31)
    stale = {"ever30_loans": 0, "ever90_loans": 0, "loans": 1, "principal": D("1.00")}
    VintagePoint.objects.create(origination_month=date(2020, 1, 1), product=product, term=1, months_on_book=0, **stale)
    assert aggregates.vintages_build(DAY) == {"vintage_points": 11}
    points = {
        p.months_on_book: (p.ever30_loans, p.ever30_principal, p.ever90_loans, p.ever90_principal)
        for p in VintagePoint.objects.filter(origination_month=date(2026, 1, 1), term=12)
    }
    assert set(points) == set(range(11))  # January to November: 0 to 10 months on book
    assert VintagePoint.objects.filter(loans=2, principal=D("18000.00")).count() == 11
    assert points[1] == (0, D("0.00"), 0, D("0.00"))
    assert points[2] == (1, D("12000.00"), 0, D("0.00"))
    assert points[7] == (2, D("18000.00"), 0, D("0.00"))
    # No history row past 90 days: 95 days on Nov 22 means 91 on Nov 18, month on book 10.
    assert points[9] == (2, D("18000.00"), 0, D("0.00"))
    assert points[10] == (2, D("18000.00"), 1, D("6000.00"))


# -- collections ---------------------------------------------------------------------------


def at(day: date, clock: time, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def attempt(borrower: Borrower, when: datetime, **fields: Any) -> ContactAttempt:
    fields = {"channel": "call", "source": "collector", "allowed": True, "outcome": "no_answer", **fields}
    return ContactAttempt.objects.create(borrower=borrower, at=when, **fields)


def case(borrower: Borrower, stage: str, opened_on: date, **fields: Any) -> Case:
    return Case.objects.create(
        borrower=borrower, stage=stage, worst_bucket="M1", opened_on=opened_on, updated_on=opened_on, **fields
    )


def test_collections_day_per_collector_and_stage(
    make_loan: Callable[..., Loan], borrower: Borrower, users: dict[str, User]
) -> None:
    day, collector = date(2026, 11, 20), users["collector"]
    loan = make_loan()
    mine = case(borrower, "mid", date(2026, 11, 1), assigned_to=collector)
    mine.loans.add(loan)
    case(other_borrower(1), "early", day)
    case(other_borrower(2), "early", date(2026, 11, 5), assigned_to=collector, status="closed", closed_on=day)
    attempt(borrower, at(day, time(10)), case=mine, actor=collector, outcome="right_party")
    attempt(borrower, at(day, time(0, 30)), case=mine, actor=collector)  # 16:30 UTC the day before
    attempt(borrower, at(date(2026, 11, 21), time(0, 30)), case=mine, actor=collector)  # the next day
    attempt(borrower, at(day, time(11)), case=mine, actor=collector, allowed=False, rule="max_conversations_per_day")
    promise = {"case": mine, "amount": D("100.00"), "created_by": collector}
    Promise.objects.create(**promise, made_on=day, due_on=date(2026, 11, 25))
    Promise.objects.create(**promise, made_on=date(2026, 11, 10), due_on=day, status="kept", decided_on=day)
    Promise.objects.create(**promise, made_on=date(2026, 11, 10), due_on=day, status="broken", decided_on=day)
    services.payment_post(
        loan=loan, amount=D("500.00"), value_date=day, kind="regular", channel="app", idempotency_key="recovered"
    )
    aggregates.collections_build(day)
    fields = ("cases_open", "cases_opened", "cases_closed", "attempts", "right_party_contacts")
    fields += ("promises_made", "promises_kept", "promises_broken", "recovered")
    rows = {
        (r["collector"], r["stage"]): tuple(r[f] for f in fields)
        for r in CollectionsDay.objects.filter(business_date=day).values("collector", "stage", *fields)
    }
    assert rows == {
        (collector.pk, "mid"): (1, 0, 0, 2, 1, 1, 1, 1, D("500.00")),
        (None, "early"): (1, 1, 0, 0, 0, 0, 0, 0, D("0.00")),
        (collector.pk, "early"): (0, 0, 1, 0, 0, 0, 0, 0, D("0.00")),
    }


# -- compliance ----------------------------------------------------------------------------


def test_compliance_day_counts_blocks_complaints_ceases_reminders_and_quiet_hour_contacts(
    borrower: Borrower,
) -> None:
    day = date(2026, 11, 20)
    londoner = other_borrower(3, "Europe/London")
    attempt(borrower, at(day, time(23, 30)), channel="sms", outcome="sent")  # 23:30 in Shanghai: quiet
    attempt(londoner, at(day, time(23, 30)))  # 15:30 in London
    attempt(borrower, at(day, time(23, 30)), channel="letter", outcome="sent")  # posted: no hour
    attempt(londoner, at(day, time(7, 30), LONDON))  # 15:30 in Shanghai, 07:30 in London: quiet
    consented = at(day, time(23, 40))
    QuietHoursConsent.objects.create(
        borrower=borrower, starts_at=at(day, time(23, 35)), ends_at=at(day, time(23, 50)), evidence="call 1"
    )
    attempt(borrower, consented)
    attempt(borrower, at(day, time(22, 30)), channel="sms", source="reminder", allowed=False, rule="quiet_hours")
    attempt(borrower, at(day, time(9)), channel="push", source="reminder", outcome="sent")
    attempt(borrower, at(day, time(12)), allowed=False, rule="max_conversations_per_day")
    attempt(borrower, at(date(2026, 11, 21), time(9)), allowed=False, rule="max_conversations_per_day")
    Complaint.objects.create(
        borrower=borrower, channel="call", category="harassment", received_at=at(day, time(10)), description="x"
    )
    cease = ContactRestriction.objects.create(borrower=borrower, kind="cease", starts_at=at(day, time(10)))
    ContactRestriction.objects.filter(pk=cease.pk).update(created_at=at(day, time(10)))
    counted = aggregates.compliance_build(day)
    rows = set(ComplianceDay.objects.filter(business_date=day).values_list("measure", "rule", "channel", "count"))
    assert rows == {
        ("blocked", "quiet_hours", "sms", 1),
        ("blocked", "max_conversations_per_day", "call", 1),
        ("reminder_blocked", "quiet_hours", "sms", 1),
        ("reminder_sent", "", "push", 1),
        ("complaint", "harassment", "call", 1),
        ("cease_request", "", "", 1),
        ("quiet_hours_contact", "", "sms", 1),
        ("quiet_hours_contact", "", "call", 1),
    }
    assert counted == {"compliance_rows": 8}


def test_quiet_hours_use_the_gates_policy_version_on_an_effective_from_tie(borrower: Borrower) -> None:
    """Two versions effective at the same instant: the higher governs, as in the gate."""
    top = ContactPolicy.objects.aggregate(top=Max("version"))["top"] or 0
    since = datetime(2001, 1, 1, tzinfo=ZoneInfo("UTC"))
    ContactPolicy.objects.create(version=top + 1, effective_from=since, quiet_start=time(22), quiet_end=time(8))
    ContactPolicy.objects.create(version=top + 2, effective_from=since, quiet_start=time(23), quiet_end=time(7))
    when = at(DAY, time(22, 30))
    assert contact_policy_in_force(when).version == top + 2
    attempt(borrower, when)
    start, end = aggregates.lender_day(DAY)
    assert aggregates.quiet_hours_contacts(start, end) == {}


def test_a_day_without_quiet_hour_contacts_reads_a_counted_zero() -> None:
    aggregates.compliance_build(DAY)
    assert list(ComplianceDay.objects.values_list("measure", "rule", "channel", "count")) == [
        ("quiet_hours_contact", "", "", 0)
    ]


def test_facts_keyed_after_their_day_closed_are_counted_by_a_later_night(borrower: Borrower) -> None:
    """A complaint received on D-2 but keyed after D-2's close, and an attempt logged back
    into D-1 after its close, are counted when D closes; a closed day 7 back is left alone."""
    day = DAY
    before, week_ago = date(2026, 11, 20), date(2026, 11, 15)
    for closed in (week_ago, before, date(2026, 11, 21)):
        aggregates.compliance_recount(closed)
        aggregates.collections_recount(closed)
        ClosedDay.objects.create(business_date=closed)
    for late in (before, week_ago):
        Complaint.objects.create(
            borrower=borrower,
            channel="call",
            category="harassment",
            received_at=at(late, time(23, 40)),
            description="x",
        )
    attempt(borrower, at(date(2026, 11, 21), time(23, 55)))
    counted = aggregates.compliance_recount(day)
    aggregates.collections_recount(day)
    complaints = ComplianceDay.objects.filter(measure="complaint").values_list("business_date", "count")
    assert list(complaints) == [(before, 1)]
    assert list(CollectionsDay.objects.filter(attempts__gt=0).values_list("business_date", "attempts")) == [
        (date(2026, 11, 21), 1)
    ]
    # D-2, D-1 and D each keep their counted zero of quiet-hour contacts, plus D-2's complaint.
    assert counted == {"compliance_rows": 4}
    assert aggregates.recount_days(day) == [before, date(2026, 11, 21), day]


# -- reruns --------------------------------------------------------------------------------


def tables() -> dict[str, list[tuple[Any, ...]]]:
    exclude = {"id"}
    return {
        model.__name__: sorted(
            model.objects.values_list(*(f.attname for f in model._meta.concrete_fields if f.name not in exclude))
        )
        for model in (RollRateMonth, VintagePoint, ExpectedLossDay, CollectionsDay, ComplianceDay)
    }


def test_rebuilding_a_day_changes_nothing(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    loan = state(make_loan(), dpd=40, bucket="M2", outstanding_principal=D("3000.00"))
    BucketHistory.objects.create(loan=loan, on=date(2026, 10, 11), from_bucket="M1", to_bucket="M2", dpd=31)
    snapshot(loan, date(2026, 10, 31), "M1", "3000.00")
    snapshot(loan, date(2026, 11, 30), "M2", "3000.00")
    attempt(borrower, at(date(2026, 11, 30), time(23)), channel="sms")
    case(borrower, "mid", date(2026, 11, 1))
    for _ in range(2):
        for part in aggregates.PARTS:
            part(date(2026, 11, 30))
        if _ == 0:
            first = tables()
    assert tables() == first
    assert all(first.values())


def test_the_step_reports_rows_per_table_and_runs_part_by_part(make_loan: Callable[..., Loan]) -> None:
    make_loan()
    run = step_run(aggregates.AGGREGATES_STEP, date(2026, 11, 30))
    assert (run.status, run.chunks_total, run.chunks_done) == ("done", 4, 4)
    assert run.rows == {
        "roll_rate_rows": 0,
        "expected_loss_rows": 1,
        "vintage_points": 11,
        "collections_rows": 0,
        "compliance_rows": 1,
    }
