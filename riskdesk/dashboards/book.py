"""The book pages' reads: the aggregates close of day filled, as pandas DataFrames.

Nothing here scans loans, installments or payments: each function reads one aggregate
table, grouped in the database down to the rows a page shows (one query per table).
Money stays Decimal (the tables' sums); shares and rates are floats, for charts only,
and each is a ratio of two exact columns kept beside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Max, QuerySet, Sum

from riskdesk.dashboards.filters import DashboardFilters
from riskdesk.dashboards.models import ExpectedLossDay, LossGivenDefault, RollRateMonth, VintagePoint
from riskdesk.lending.models import PortfolioSnapshot
from riskdesk.lending.selectors import buckets

PORTFOLIO_SUMS = (
    "loans",
    "outstanding_principal",
    "dpd1_loans",
    "dpd1_principal",
    "dpd30_loans",
    "dpd30_principal",
    "dpd90_loans",
    "dpd90_principal",
)
TOP_MOVERS = 10
ZERO = Decimal("0.00")


def _frame(rows: Iterable[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Rows as a frame with `columns` even when there are none (figures and tables rely on them)."""
    return pd.DataFrame(list(rows), columns=columns)


def _sums(queryset: QuerySet, group: list[str], fields: Iterable[str]) -> list[dict[str, Any]]:
    fields = list(fields)
    return list(queryset.values(*group).annotate(**{f: Sum(f) for f in fields}).order_by(*group))


def share(numerator: pd.Series, denominator: pd.Series) -> np.ndarray:
    """numerator / denominator as floats, NaN where the denominator is zero (no loans: no rate)."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


# --- portfolio ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Portfolio:
    """The portfolio page: the headline on `as_of` and the frames behind its charts and tables."""

    as_of: date | None  # the range's last business date with a snapshot
    headline: dict[str, Any]
    trend: pd.DataFrame  # business_date, PORTFOLIO_SUMS, dpd{1,30,90}_{balance,count}_ratio
    bucket_mix: pd.DataFrame  # business_date, bucket, loans, outstanding_principal
    movers: pd.DataFrame  # product, term, origination_month, dpd30 first/last/change
    by_product_term: pd.DataFrame  # product, term, PORTFOLIO_SUMS, ratios


def portfolio(filters: DashboardFilters) -> Portfolio:
    """The portfolio over the filters' dates, headline as of the last date that has a snapshot.

    Two queries: the days by bucket (trend, mix, headline) and the first and last day by
    segment (top movers, the product and term table).
    """
    snapshots = filters.apply(PortfolioSnapshot.objects.all())
    by_day_bucket = _frame(
        _sums(snapshots, ["business_date", "bucket"], PORTFOLIO_SUMS), ["business_date", "bucket", *PORTFOLIO_SUMS]
    )
    bucket_mix = by_day_bucket[["business_date", "bucket", "loans", "outstanding_principal"]]
    trend = _with_ratios(by_day_bucket.groupby("business_date", as_index=False)[list(PORTFOLIO_SUMS)].sum())
    if trend.empty:
        no_ends = pd.DataFrame(columns=["business_date", "product", "term", "origination_month", "dpd30_principal"])
        return Portfolio(None, _headline(None), trend, bucket_mix, _movers(no_ends), _with_ratios(pd.DataFrame()))
    first, last = trend["business_date"].iloc[0], trend["business_date"].iloc[-1]
    ends = _frame(
        _sums(
            snapshots.filter(business_date__in=[first, last]),
            ["business_date", "product__code", "term", "origination_month"],
            PORTFOLIO_SUMS,
        ),
        ["business_date", "product__code", "term", "origination_month", *PORTFOLIO_SUMS],
    ).rename(columns={"product__code": "product"})
    latest = ends[ends["business_date"] == last]
    by_product_term = latest.groupby(["product", "term"], as_index=False)[list(PORTFOLIO_SUMS)].sum()
    return Portfolio(
        last,
        _headline(trend.iloc[-1]),
        trend,
        bucket_mix,
        _movers(ends, first, last),
        _with_ratios(by_product_term),
    )


def _headline(day: pd.Series | None) -> dict[str, Any]:
    if day is None:
        return {name: (0 if name.endswith("loans") else ZERO) for name in PORTFOLIO_SUMS}
    # numpy's integers become Python's: the headline is plain numbers (Decimal and int) for templates and tests.
    return {name: int(day[name]) if name.endswith("loans") else day[name] for name in PORTFOLIO_SUMS}


def _with_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """DPD1+/30+/90+ as shares of outstanding principal (balance) and of loans (count)."""
    ratios: dict[str, Any] = {}
    for level in ("dpd1", "dpd30", "dpd90"):
        if frame.empty:
            ratios[f"{level}_balance_ratio"] = ratios[f"{level}_count_ratio"] = np.array([], dtype=float)
            continue
        ratios[f"{level}_balance_ratio"] = share(frame[f"{level}_principal"], frame["outstanding_principal"])
        ratios[f"{level}_count_ratio"] = share(frame[f"{level}_loans"], frame["loans"])
    # One concat rather than six column inserts: each insert copies the frame's blocks.
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(ratios)], axis=1)


def _movers(ends: pd.DataFrame, first: date | None = None, last: date | None = None) -> pd.DataFrame:
    """Segments (product x term x origination month) whose DPD30+ balance grew most from `first` to `last`.

    A segment missing on a day counts 0 then (not yet originated, or paid off). Ties go
    to the segment that sorts first, so the list is the same on every request.
    """
    columns = ["product", "term", "origination_month", "dpd30_principal_first", "dpd30_principal_last", "change"]
    balances: dict[tuple[Any, ...], list[Decimal]] = {}
    for day, product, term, month, dpd30 in ends[
        ["business_date", "product", "term", "origination_month", "dpd30_principal"]
    ].itertuples(index=False, name=None):
        pair = balances.setdefault((product, int(term), month), [ZERO, ZERO])
        pair[0 if day == first else 1] += dpd30
    rows = [
        (*segment, before, after, after - before) for segment, (before, after) in balances.items() if after > before
    ]
    rows.sort(key=lambda row: (-row[5], row[:3]))
    return pd.DataFrame(rows[:TOP_MOVERS], columns=columns)


# --- roll rates --------------------------------------------------------------------------


def roll_months(filters: DashboardFilters) -> pd.DataFrame:
    """Transitions by month end, from-bucket and to-bucket (loans, balance) in the filters' range."""
    rows = _sums(
        filters.apply(RollRateMonth.objects.all(), date_field="month_end"),
        ["month_end", "from_bucket", "to_bucket"],
        ["loans", "balance"],
    )
    return _frame(rows, ["month_end", "from_bucket", "to_bucket", "loans", "balance"])


def bucket_order() -> list[str]:
    """The configured buckets, then the two ways out of the book."""
    return [b.code for b in buckets()] + [RollRateMonth.PAID_OFF, RollRateMonth.WRITTEN_OFF]


def transition_matrix(transitions: pd.DataFrame, measure: str, order: list[str]) -> pd.DataFrame:
    """From-bucket rows, to-bucket columns: each cell's share of its row's `measure` (rows sum to 1)."""
    if transitions.empty:
        return pd.DataFrame()
    cells = transitions.assign(value=transitions[measure].astype(float))
    wide = cells.groupby(["from_bucket", "to_bucket"])["value"].sum().unstack(fill_value=0.0)
    rows = [b for b in order if b in wide.index]
    columns = [b for b in order if b in wide.columns]
    wide = wide.loc[rows, columns]
    return wide.div(wide.sum(axis=1).where(lambda s: s != 0), axis=0)


def flow_chain(months: pd.DataFrame) -> list[str]:
    """The steps of the flow chain: the configured buckets, then written off if any loan was.

    Without a write-off among `months` the chain ends at the last bucket, which then
    stands for write-off (a measured step of 0% would imply no loss at all).
    """
    chain = [b.code for b in buckets()]
    if chain and not months.empty and (months["to_bucket"] == RollRateMonth.WRITTEN_OFF).any():
        chain.append(RollRateMonth.WRITTEN_OFF)
    return chain


def flow_rates(months: pd.DataFrame, chain: list[str]) -> pd.DataFrame:
    """The flow rate of each step of `chain` (`flow_chain`), pooled over the months.

    Step from bucket b to the next one n: balance that was in b at a month end and is in
    n at the next (for b the last bucket and n written off: balance written off in
    between), over all balance in b then, summed over the range's month ends (a
    balance-weighted average of the monthly rates). Columns: from_bucket, to_bucket,
    rolled, balance, rate.
    """
    rows = []
    for frm, to in zip(chain, chain[1:], strict=False):
        leaving = months[months["from_bucket"] == frm] if not months.empty else months
        balance = sum(leaving["balance"], ZERO) if len(leaving) else ZERO
        rolled = sum(leaving[leaving["to_bucket"] == to]["balance"], ZERO) if len(leaving) else ZERO
        rows.append({"from_bucket": frm, "to_bucket": to, "rolled": rolled, "balance": balance})
    frame = _frame(rows, ["from_bucket", "to_bucket", "rolled", "balance"])
    frame["rate"] = share(frame["rolled"], frame["balance"]) if len(frame) else pd.Series(dtype=float)
    return frame


def current_balance(filters: DashboardFilters, bucket: str) -> tuple[date | None, Decimal]:
    """Outstanding principal in `bucket` on the range's last business date with a snapshot."""
    snapshots = filters.apply(PortfolioSnapshot.objects.filter(bucket=bucket))
    day = snapshots.aggregate(day=Max("business_date"))["day"]
    if day is None:
        return None, ZERO
    total = snapshots.filter(business_date=day).aggregate(total=Sum("outstanding_principal"))["total"]
    return day, total or ZERO


# --- vintages ----------------------------------------------------------------------------

VINTAGE_SUMS = ("loans", "principal", "ever30_loans", "ever30_principal", "ever90_loans", "ever90_principal")


def vintage_curves(filters: DashboardFilters) -> pd.DataFrame:
    """Each vintage's cumulative share ever 30+ and 90+ (by count and balance) by months on book.

    Products and terms of one origination month add up (they reach the same months on
    book). The date range does not apply: the curves are rebuilt whole each night.
    """
    rows = _sums(
        filters.apply(VintagePoint.objects.all(), date_field=None),
        ["origination_month", "months_on_book"],
        VINTAGE_SUMS,
    )
    frame = _frame(rows, ["origination_month", "months_on_book", *VINTAGE_SUMS])
    for level in ("ever30", "ever90"):
        frame[f"{level}_share"] = share(frame[f"{level}_loans"], frame["loans"]) if len(frame) else []
        frame[f"{level}_balance_share"] = share(frame[f"{level}_principal"], frame["principal"]) if len(frame) else []
    return frame


# --- expected loss -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedLoss:
    as_of: date | None
    by_stage: pd.DataFrame  # stage, loans, ead, ecl, coverage
    by_product: pd.DataFrame  # product, stage, loans, ead, ecl, coverage
    by_source: pd.DataFrame  # pd_source, loans, ead, ecl
    trend: pd.DataFrame  # business_date, stage, ecl, ead
    lgd: pd.DataFrame  # product ("" = every product), effective_from, lgd


EL_SUMS = ("loans", "ead", "ecl")


def expected_loss(filters: DashboardFilters) -> ExpectedLoss:
    """ECL on the range's last date with rows (by stage, product, PD source) and its trend by stage."""
    days = filters.apply(ExpectedLossDay.objects.all())
    trend = _frame(_sums(days, ["business_date", "stage"], ["ecl", "ead"]), ["business_date", "stage", "ecl", "ead"])
    as_of = trend["business_date"].iloc[-1] if len(trend) else None
    detail = _frame(
        _sums(days.filter(business_date=as_of), ["product__code", "stage", "pd_source"], EL_SUMS) if as_of else [],
        ["product__code", "stage", "pd_source", *EL_SUMS],
    ).rename(columns={"product__code": "product"})
    by_stage = detail.groupby("stage", as_index=False)[list(EL_SUMS)].sum()
    by_stage = by_stage.set_index("stage").reindex([1, 2, 3]).reset_index()
    by_stage["loans"] = by_stage["loans"].fillna(0).astype(int)
    by_stage[["ead", "ecl"]] = by_stage[["ead", "ecl"]].apply(lambda c: c.map(lambda v: ZERO if pd.isna(v) else v))
    by_product = detail.groupby(["product", "stage"], as_index=False)[list(EL_SUMS)].sum()
    by_source = detail.groupby("pd_source", as_index=False)[list(EL_SUMS)].sum()
    for frame in (by_stage, by_product):
        frame["coverage"] = share(frame["ecl"], frame["ead"]) if len(frame) else pd.Series(dtype=float)
    return ExpectedLoss(as_of, by_stage, by_product, by_source, trend, lgd_settings(as_of or filters.date_to))


def lgd_settings(day: date) -> pd.DataFrame:
    """The LGD versions in force on `day`: the default for every product and each product's own."""
    rows = (
        LossGivenDefault.objects.filter(effective_from__lte=day)
        .order_by("product__code", "-effective_from")
        .values("product__code", "effective_from", "lgd")
    )
    in_force: dict[str, dict[str, Any]] = {}
    for row in rows:
        in_force.setdefault(row["product__code"] or "", {**row, "product__code": row["product__code"] or ""})
    frame = _frame(in_force.values(), ["product__code", "effective_from", "lgd"])
    return frame.rename(columns={"product__code": "product"})


def month_label(day: date | datetime) -> str:
    return day.strftime("%Y-%m")
