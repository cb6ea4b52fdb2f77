"""The desk's activity pages' reads: collections work and compliance facts, as pandas DataFrames.

Nothing here reads attempts, promises, payments or cases: close of day leaves each
business day's CollectionsDay and ComplianceDay rows, and each month end's RollRateMonth
transitions; each function groups one of those tables in the database down to the rows
a page shows. Counts stay integers and money Decimal; the headline rates are Decimal
ratios of those exact sums (None where the denominator is zero: no attempt, no rate),
the frames' rate columns floats for the charts, each beside its two exact columns.

CollectionsDay and ComplianceDay count the desk's work, not loans: they have no product,
term or origination month, so only the filters' dates apply to them. The cure rate comes
from the roll-rate transitions, which do have those columns, so every filter applies to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db.models import F, Q, Sum

from riskdesk.dashboards.book import ZERO, _frame, bucket_order, roll_months, share
from riskdesk.dashboards.filters import DashboardFilters
from riskdesk.dashboards.models import CollectionsDay, ComplianceDay, RollRateMonth

WORK_SUMS = (
    "attempts",
    "right_party_contacts",
    "promises_made",
    "promises_kept",
    "promises_broken",
    "recovered",
)
Measure = ComplianceDay.Measure


def rate(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """numerator / denominator exactly (Decimal), None when there is nothing to divide by."""
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def _with_work_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """RPC rate = right-party contacts / allowed attempts; kept rate = kept / (kept + broken)."""
    frame["rpc_rate"] = share(frame["right_party_contacts"], frame["attempts"])
    frame["kept_rate"] = share(frame["promises_kept"], frame["promises_kept"] + frame["promises_broken"])
    return frame


# --- collections ------------------------------------------------------------------------


@dataclass(frozen=True)
class Collections:
    """The collections page: headline over the range, its daily trend, and the tables behind it."""

    as_of: date | None  # the range's last business date with collections rows
    headline: dict[str, Any]
    trend: pd.DataFrame  # business_date, WORK_SUMS, rpc_rate, kept_rate
    stages: pd.DataFrame  # stage, cases_open (on as_of)
    collectors: pd.DataFrame  # collector, WORK_SUMS, rpc_rate, kept_rate, cases_open (on as_of)
    cure: pd.DataFrame  # from_bucket, loans, cured_loans, cure_rate_count, balance, cured_balance, cure_rate_balance


def collections(filters: DashboardFilters) -> Collections:
    days = filters.apply(CollectionsDay.objects.all(), segmented=False)
    trend = _daily_work(days)
    as_of = trend["business_date"].max() if len(trend) else None
    stages = _frame(
        days.filter(business_date=as_of).values("stage").annotate(cases_open=Sum("cases_open")).order_by("stage"),
        ["stage", "cases_open"],
    )
    totals = {name: trend[name].sum() for name in WORK_SUMS}
    kept, broken = int(totals["promises_kept"]), int(totals["promises_broken"])
    headline = {
        **{name: int(value) for name, value in totals.items() if name != "recovered"},
        "recovered": sum(trend["recovered"], ZERO),
        "rpc_rate": rate(int(totals["right_party_contacts"]), int(totals["attempts"])),
        "kept_rate": rate(kept, kept + broken),
        "cases_open": int(stages["cases_open"].sum()),
    }
    return Collections(
        as_of=as_of,
        headline=headline,
        trend=trend,
        stages=stages,
        collectors=_per_collector(days, as_of),
        cure=cure_rates(filters),
    )


def _daily_work(days: Any) -> pd.DataFrame:
    rows = days.values("business_date").annotate(**{n: Sum(n) for n in WORK_SUMS}).order_by("business_date")
    return _with_work_rates(_frame(rows, ["business_date", *WORK_SUMS]))


def _per_collector(days: Any, as_of: date | None) -> pd.DataFrame:
    """Each collector's work over the range and open cases on `as_of`; the unassigned and the system last."""
    rows = (
        days.values("collector_id", "collector__username")
        .annotate(
            **{n: Sum(n) for n in WORK_SUMS},
            cases_open=Sum("cases_open", filter=Q(business_date=as_of)),
        )
        .order_by(F("collector__username").asc(nulls_last=True))
    )
    frame = _frame(rows, ["collector_id", "collector__username", *WORK_SUMS, "cases_open"])
    frame = frame.rename(columns={"collector__username": "collector"})
    frame["cases_open"] = frame["cases_open"].fillna(0).astype(int)
    return _with_work_rates(frame).drop(columns=["collector_id"])


def cure_rates(filters: DashboardFilters) -> pd.DataFrame:
    """The cure rate by bucket over the month ends in the range.

    Of the loans (and balance) in a delinquent bucket at a month end, the share that were
    current (the first bucket) or paid off at the next month end. Write-offs and loans
    still delinquent are not cured.
    """
    columns = [
        "from_bucket",
        "loans",
        "cured_loans",
        "cure_rate_count",
        "balance",
        "cured_balance",
        "cure_rate_balance",
    ]
    order = bucket_order()
    current = order[0]
    moves = roll_months(filters)
    moves = moves[moves["from_bucket"] != current]
    if moves.empty:
        return pd.DataFrame(columns=columns)
    cured = moves["to_bucket"].isin([current, RollRateMonth.PAID_OFF])
    moves = moves.assign(
        cured_loans=moves["loans"].where(cured, 0),
        cured_balance=moves["balance"].where(cured, ZERO),
    )
    by_bucket = moves.groupby("from_bucket", sort=False)[["loans", "cured_loans", "balance", "cured_balance"]].sum()
    by_bucket = by_bucket.reindex([b for b in order if b in by_bucket.index]).reset_index()
    by_bucket["cure_rate_count"] = share(by_bucket["cured_loans"], by_bucket["loans"])
    by_bucket["cure_rate_balance"] = share(by_bucket["cured_balance"], by_bucket["balance"])
    return by_bucket[columns]


# --- compliance ------------------------------------------------------------------------


@dataclass(frozen=True)
class Compliance:
    """The compliance page: totals by measure over the range, and the tables behind its charts."""

    totals: dict[str, int]  # every Measure value
    blocked: pd.DataFrame  # rule, channel, count (most first)
    complaints: pd.DataFrame  # category, channel, count (most first)
    daily: pd.DataFrame  # business_date, one column per Measure value (0 where none)
    quiet_hours_days: pd.DataFrame  # business_date, count: the days with contacts in quiet hours
    days_counted: int  # business dates in the range whose quiet hours were counted
    days_in_range: int


def compliance(filters: DashboardFilters) -> Compliance:
    days = filters.apply(ComplianceDay.objects.all(), segmented=False)
    by_rule = _frame(
        days.values("measure", "rule", "channel").annotate(count=Sum("count")).order_by("-count", "rule", "channel"),
        ["measure", "rule", "channel", "count"],
    )
    daily = _daily_measures(days)
    quiet = Measure.QUIET_HOURS_CONTACT.value
    return Compliance(
        totals={m: int(by_rule.loc[by_rule["measure"] == m, "count"].sum()) for m in Measure.values},
        blocked=_of_measure(by_rule, Measure.BLOCKED.value),
        complaints=_of_measure(by_rule, Measure.COMPLAINT.value).rename(columns={"rule": "category"}),
        daily=daily,
        quiet_hours_days=daily.loc[daily[quiet] > 0, ["business_date", quiet]].rename(columns={quiet: "count"}),
        # A counted day has its quiet-hours row even at zero (close of day writes it), so a
        # zero on the card is a count, not the silence of days not closed yet.
        days_counted=days.filter(measure=quiet).values("business_date").distinct().count(),
        days_in_range=(filters.date_to - filters.date_from).days + 1,
    )


def _of_measure(by_rule: pd.DataFrame, measure: str) -> pd.DataFrame:
    rows = by_rule[by_rule["measure"] == measure]
    return rows[["rule", "channel", "count"]].reset_index(drop=True)


def _daily_measures(days: Any) -> pd.DataFrame:
    rows = _frame(
        days.values("business_date", "measure").annotate(count=Sum("count")).order_by("business_date"),
        ["business_date", "measure", "count"],
    )
    if rows.empty:
        return pd.DataFrame(columns=["business_date", *Measure.values])
    daily = rows.pivot_table(index="business_date", columns="measure", values="count", aggfunc="sum", fill_value=0)
    daily = daily.reindex(columns=Measure.values, fill_value=0).astype(int)
    return daily.rename_axis(columns=None).reset_index()
