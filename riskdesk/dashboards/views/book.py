"""The book's pages: portfolio, roll rates, vintages and expected loss.

Each is a `pages.Page`: a selector over the aggregates (riskdesk.dashboards.book) and
its charts (riskdesk.dashboards.figures); `page_render` does filters, CSV and render.
Risk officers and admins read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext as _

from riskdesk.core import roles
from riskdesk.core.access import role_required
from riskdesk.core.money import quantize_money
from riskdesk.dashboards import book, figures
from riskdesk.dashboards.filters import DashboardFilters
from riskdesk.dashboards.models import RollRateMonth
from riskdesk.dashboards.pages import Context, FilterError, Page, page_render
from riskdesk.lending.selectors import buckets

READERS = (roles.ADMIN, roles.RISK_OFFICER)
VINTAGE_MILESTONES = (3, 6, 12)


# --- portfolio ---------------------------------------------------------------------------


def _portfolio_select(filters: DashboardFilters, query: QueryDict) -> Context:
    page = book.portfolio(filters)
    movers = page.movers
    by_product_term = page.by_product_term
    trend = page.trend
    return {
        "as_of": page.as_of,
        "headline": page.headline,
        "ratios": _headline_ratios(page.headline),
        "trend": trend,
        "bucket_mix": page.bucket_mix,
        "movers": movers.to_dict("records"),
        "by_product_term": by_product_term.to_dict("records"),
        "tables": {
            "trend": trend,
            "bucket_mix": page.bucket_mix,
            "top_movers": movers,
            "by_product_term": by_product_term,
        },
    }


def _headline_ratios(headline: Mapping[str, Any]) -> dict[str, Decimal | None]:
    """DPD1+/30+/90+ by balance and by count, exact to 4 places (as shares: 0.0123 = 1.23%)."""
    ratios: dict[str, Decimal | None] = {}
    for level in ("dpd1", "dpd30", "dpd90"):
        for basis, numerator, denominator in (
            ("balance", f"{level}_principal", "outstanding_principal"),
            ("count", f"{level}_loans", "loans"),
        ):
            den = Decimal(headline[denominator])
            ratios[f"{level}_{basis}"] = (
                (Decimal(headline[numerator]) / den).quantize(Decimal("0.0001")) if den else None
            )
    return ratios


def _portfolio_charts(context: Context) -> dict[str, go.Figure]:
    return {
        "balance_ratios": figures.dpd_ratio_trend_figure(context["trend"], basis="balance"),
        "count_ratios": figures.dpd_ratio_trend_figure(context["trend"], basis="count"),
        "bucket_mix": figures.bucket_mix_figure(context["bucket_mix"], order=book.bucket_order()),
    }


PORTFOLIO = Page("portfolio", "dashboards/portfolio.html", _portfolio_select, _portfolio_charts)


@role_required(*READERS)
def portfolio(request: HttpRequest) -> HttpResponse:
    return page_render(request, PORTFOLIO)


# --- roll rates --------------------------------------------------------------------------


def _roll_rates_select(filters: DashboardFilters, query: QueryDict) -> Context:
    months = book.roll_months(filters)
    month_ends = sorted(set(months["month_end"]))
    shown = _shown_month(month_ends, query.get("month", ""))
    transitions = months[months["month_end"] == shown].reset_index(drop=True) if shown else months
    order = book.bucket_order()
    configured = buckets()
    chain = book.flow_chain(months)
    flows = book.flow_rates(months, chain)
    current_day, current = book.current_balance(filters, chain[0]) if chain else (None, Decimal("0.00"))
    implied_rate, implied_loss = _implied_loss(flows, current)
    last = configured[-1] if configured else None
    return {
        "month_ends": month_ends,
        "shown_month": shown,
        "transitions": transitions,
        "transition_rows": transitions.to_dict("records"),
        "order": order,
        "flows": flows,
        "flow_rows": flows.to_dict("records"),
        "current_bucket": chain[0] if chain else "",
        # The definitions are worded from the configured buckets, not a fixed M7+.
        "last_bucket": last.code if last else "",
        "last_bucket_min_dpd": last.min_dpd if last else None,
        "chain_to_write_off": bool(chain) and chain[-1] == RollRateMonth.WRITTEN_OFF,
        "current_day": current_day,
        "current_balance": current,
        "implied_rate": implied_rate,
        "implied_loss": implied_loss,
        "page_params": {"month": shown.strftime("%Y-%m")} if shown and query.get("month") else {},
        "tables": {"transitions": transitions, "flow_rates": flows},
    }


def _shown_month(month_ends: list[Any], asked: str) -> Any:
    """The month end asked for (?month=YYYY-MM), else the latest in range; a month without rows is a 400."""
    if not asked:
        return month_ends[-1] if month_ends else None
    try:
        month = datetime.strptime(asked, "%Y-%m").date()
    except ValueError:
        raise FilterError("month", _("Enter a month as YYYY-MM.")) from None
    for month_end in month_ends:
        if (month_end.year, month_end.month) == (month.year, month.month):
            return month_end
    raise FilterError("month", _("No roll rates for month ending in %(month)s within these dates.") % {"month": asked})


def _implied_loss(flows: pd.DataFrame, current: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """The chain's product of flow rates (exact) and the loss it implies on the current balance.

    The current balance is the first bucket's on the range's last business date with a
    snapshot (`book.current_balance`), not necessarily today's.

    None when a step has no balance to measure a rate on: the chain is then unknown.
    """
    if flows.empty or (flows["balance"] == 0).any():
        return None, None
    rate = Decimal(1)
    for rolled, balance in zip(flows["rolled"], flows["balance"], strict=True):
        rate *= Decimal(rolled) / Decimal(balance)
    return rate, quantize_money(current * rate)


def _roll_rates_charts(context: Context) -> dict[str, go.Figure]:
    transitions, order = context["transitions"], context["order"]
    month = context["shown_month"].strftime("%Y-%m-%d") if context["shown_month"] else ""
    return {
        "matrix_balance": figures.transition_heatmap_figure(
            book.transition_matrix(transitions, "balance", order), measure="balance", month=month
        ),
        "matrix_count": figures.transition_heatmap_figure(
            book.transition_matrix(transitions, "loans", order), measure="loans", month=month
        ),
        "flow_rates": figures.flow_rate_figure(context["flows"]),
    }


ROLL_RATES = Page("roll_rates", "dashboards/roll_rates.html", _roll_rates_select, _roll_rates_charts)


@role_required(*READERS)
def roll_rates(request: HttpRequest) -> HttpResponse:
    return page_render(request, ROLL_RATES)


# --- vintages ----------------------------------------------------------------------------


def _vintages_select(filters: DashboardFilters, query: QueryDict) -> Context:
    curves = book.vintage_curves(filters)
    return {"curves": curves, "vintage_rows": _vintage_summary(curves), "tables": {"curves": curves}}


def _vintage_summary(curves: pd.DataFrame) -> list[dict[str, Any]]:
    """A row per vintage, newest first: its size, the months on book reached, and its ever-30+ share at 3, 6 and 12 months."""
    vintages: dict[Any, dict[str, Any]] = {}
    for point in curves.to_dict("records"):
        row = vintages.setdefault(point["origination_month"], {"by_mob": {}, "months_on_book": -1})
        row["by_mob"][point["months_on_book"]] = point["ever30_share"]
        if point["months_on_book"] > row["months_on_book"]:
            row.update(point)
    return [
        {**row, "milestones": [row["by_mob"].get(mob) for mob in VINTAGE_MILESTONES]}
        for _, row in sorted(vintages.items(), key=lambda item: item[0], reverse=True)
    ]


def _vintages_charts(context: Context) -> dict[str, go.Figure]:
    curves = context["curves"]
    return {
        "ever30": figures.vintage_figure(curves, column="ever30_share", title=_("Ever 30+ by count")),
        "ever90": figures.vintage_figure(curves, column="ever90_share", title=_("Ever 90+ by count")),
        "ever30_balance": figures.vintage_figure(curves, column="ever30_balance_share", title=_("Ever 30+ by balance")),
        "ever90_balance": figures.vintage_figure(curves, column="ever90_balance_share", title=_("Ever 90+ by balance")),
    }


VINTAGES = Page("vintages", "dashboards/vintages.html", _vintages_select, _vintages_charts)


@role_required(*READERS)
def vintages(request: HttpRequest) -> HttpResponse:
    return page_render(request, VINTAGES)


# --- expected loss -----------------------------------------------------------------------


def _expected_loss_select(filters: DashboardFilters, query: QueryDict) -> Context:
    loss = book.expected_loss(filters)
    stages = loss.by_stage
    totals: dict[str, Any] = {"loans": int(stages["loans"].sum()), "ead": sum(stages["ead"]), "ecl": sum(stages["ecl"])}
    totals["coverage"] = totals["ecl"] / totals["ead"] if totals["ead"] else None
    return {
        "as_of": loss.as_of,
        "totals": totals,
        "by_stage": loss.by_stage,
        "stage_rows": loss.by_stage.to_dict("records"),
        "product_rows": loss.by_product.to_dict("records"),
        "source_rows": [
            {**row, "name": _pd_source_name(row["pd_source"])} for row in loss.by_source.to_dict("records")
        ],
        "lgd_rows": loss.lgd.to_dict("records"),
        "trend": loss.trend,
        "by_product": loss.by_product,
        "tables": {
            "by_stage": loss.by_stage,
            "by_product": loss.by_product,
            "by_pd_source": loss.by_source,
            "trend": loss.trend,
        },
    }


def _pd_source_name(code: str) -> str:
    names = {
        "score": _("scorecard PD"),
        "roll_rate": _("observed roll rate of the bucket"),
        "default": _("in default (PD 1)"),
    }
    return names.get(code, code)


def _expected_loss_charts(context: Context) -> dict[str, go.Figure]:
    return {
        "by_product": figures.ecl_by_product_figure(context["by_product"]),
        "trend": figures.ecl_trend_figure(context["trend"]),
    }


EXPECTED_LOSS = Page("expected_loss", "dashboards/expected_loss.html", _expected_loss_select, _expected_loss_charts)


@role_required(*READERS)
def expected_loss(request: HttpRequest) -> HttpResponse:
    return page_render(request, EXPECTED_LOSS)
