"""The book pages' charts: pure functions, a DataFrame in, a plotly Figure out.

No ORM here: riskdesk.dashboards.book builds the frames from the aggregates. Every
function answers an empty frame with the desk's "no data" figure, never an error. The
look is the desk's (riskmodels.figures.desk_figure); words go through gettext.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from django.utils.translation import gettext as _
from plotly.colors import sample_colorscale

from riskdesk.core.vocabulary import label
from riskdesk.riskmodels.figures import INK, desk_figure, no_data_figure

LEVEL_COLOURS = {"dpd1": "#d9a02b", "dpd30": "#d9622b", "dpd90": "#a12b2b"}
STAGE_COLOURS = {1: "#6c9bd2", 2: "#d9822b", 3: "#a12b2b"}
# Buckets from current to worst: blue through amber to dark red; ways out of the book grey.
BUCKET_PALETTE = ["#4a7fb5", "#e3c35a", "#e0a340", "#d9822b", "#cc5f2a", "#b8452a", "#a12b2b", "#6e1a1a"]
OUT_OF_BOOK_COLOURS = {"paid_off": "#9aa5b1", "written_off": "#3e4c59"}
# Viridis reversed, its lightest end dropped (pale yellow is unreadable on white).
VINTAGE_SCALE = ["#b5de2b", "#6ece58", "#1f9e89", "#26828e", "#31688e", "#3e4989", "#482878", "#440154"]


def _levels() -> dict[str, str]:
    return {"dpd1": _("DPD1+"), "dpd30": _("DPD30+"), "dpd90": _("DPD90+")}


def _values(column: pd.Series) -> list[Any]:
    """A column as a plain list for plotly: money as floats (a chart's pixels need no cents), dates ISO.

    Plain floats and strings also keep the figure cheap: plotly deep-copies its data, and
    copying a date object costs a hundred times a string's.
    """
    values = column.tolist()
    if values and isinstance(values[0], Decimal):
        return [float(v) for v in values]
    if values and isinstance(values[0], date):
        return [v.isoformat() for v in values]
    return values


def dpd_ratio_trend_figure(trend: pd.DataFrame, *, basis: str) -> go.Figure:
    """DPD1+/30+/90+ as a share of the book by business date (columns business_date, dpd*_<basis>_ratio).

    `basis`: "balance" (share of outstanding principal) or "count" (share of loans).
    """
    title = _("Delinquency by balance") if basis == "balance" else _("Delinquency by count")
    x, y = _("business date"), _("share of outstanding principal") if basis == "balance" else _("share of loans")
    if trend.empty:
        return no_data_figure(title=title, x=x, y=y)
    dates = _values(trend["business_date"])
    traces = [
        {
            "type": "scatter",
            "name": name,
            "x": dates,
            "y": _values(trend[f"{level}_{basis}_ratio"]),
            "mode": "lines",
            "line": {"color": LEVEL_COLOURS[level], "width": 2},
        }
        for level, name in _levels().items()
    ]
    return desk_figure(traces, title=title, x=x, y=y, layout={"yaxis": {"rangemode": "tozero", "tickformat": ".1%"}})


def bucket_colours(order: list[str]) -> dict[str, str]:
    """A colour per bucket code in `order`, current first; paid off and written off in greys."""
    codes = [code for code in order if code not in OUT_OF_BOOK_COLOURS]
    colours = {code: BUCKET_PALETTE[min(i, len(BUCKET_PALETTE) - 1)] for i, code in enumerate(codes)}
    return {**colours, **OUT_OF_BOOK_COLOURS}


def bucket_mix_figure(mix: pd.DataFrame, *, order: list[str]) -> go.Figure:
    """The delinquent buckets' shares of outstanding principal by business date, stacked.

    Columns business_date, bucket, outstanding_principal. The first bucket of `order`
    (current) is left out of the stack: it holds most of the book, and drawn it would
    squash the buckets a risk officer reads into a sliver at the top; the stack's top is
    the whole delinquent share. Buckets stack in `order`, any other code after them.
    """
    title, x, y = (
        _("Bucket mix by balance, delinquent buckets"),
        _("business date"),
        _("share of outstanding principal"),
    )
    if mix.empty:
        return no_data_figure(title=title, x=x, y=y)
    colours = bucket_colours(order)
    amounts = mix.assign(amount=[float(v) for v in mix["outstanding_principal"]])
    totals = amounts.groupby("business_date")["amount"].transform("sum")
    amounts = amounts.assign(share=amounts["amount"] / totals.where(totals != 0))
    by_bucket = dict(list(amounts.groupby("bucket", sort=False)))
    present = [b for b in order[1:] if b in by_bucket] + sorted(set(by_bucket) - set(order))
    traces = [
        _stacked_area(str(label(b)), by_bucket[b]["business_date"], by_bucket[b]["share"], colours.get(b, INK))
        for b in present
    ]
    layout = {"yaxis": {"rangemode": "tozero", "tickformat": ".1%"}}
    return desk_figure(traces, title=title, x=x, y=y, percent_y=True, layout=layout)


def transition_heatmap_figure(matrix: pd.DataFrame, *, measure: str, month: str = "") -> go.Figure:
    """The transition matrix as a heatmap: rows the bucket at the earlier month end, cells the row's share.

    `matrix`: from-bucket index, to-bucket columns, shares (book.transition_matrix);
    `measure`: "balance" or "loans", for the title.
    """
    by = _("by balance") if measure == "balance" else _("by count")
    title = _("Roll rates %(by)s, month ending %(month)s") % {"by": by, "month": month} if month else by
    x, y = _("bucket at month end"), _("bucket a month before")
    if matrix.empty:
        return no_data_figure(title=title, x=x, y=y)
    values = matrix.to_numpy().tolist()
    heat = {
        "type": "heatmap",
        "z": values,
        "x": [str(label(c)) for c in matrix.columns],
        "y": [str(label(r)) for r in matrix.index],
        "text": [[f"{v:.1%}" if v == v and v > 0 else "" for v in row] for row in values],
        "texttemplate": "%{text}",
        "colorscale": [[0, "#ffffff"], [0.05, "#e6eef6"], [0.4, "#d9822b"], [1, "#a12b2b"]],
        "zmin": 0,
        "zmax": 1,
        "colorbar": {"tickformat": ".0%", "thickness": 10},
        "hovertemplate": "%{y} → %{x}: %{z:.2%}<extra></extra>",
        "xgap": 1,
        "ygap": 1,
    }
    layout = {"yaxis": {"autorange": "reversed", "gridcolor": None}, "height": 360}
    return desk_figure([heat], title=title, x=x, y=y, layout=layout)


def flow_step_names(flows: pd.DataFrame) -> list[str]:
    """Each step's words, "M0 → M1" (the chain's last step may be into written off: book.flow_chain)."""
    return [f"{label(f)} → {label(t)}" for f, t in zip(flows["from_bucket"], flows["to_bucket"], strict=True)]


def flow_rate_figure(flows: pd.DataFrame) -> go.Figure:
    """The flow rate of each step current -> M1 -> ... -> write-off (columns from_bucket, to_bucket, rate)."""
    title, x, y = _("Flow rates"), _("step"), _("share of balance rolling on")
    if flows.empty or flows["rate"].isna().all():
        return no_data_figure(title=title, x=x, y=y)
    rates = _values(flows["rate"])
    bar = {
        "type": "bar",
        "x": flow_step_names(flows),
        "y": rates,
        "text": [f"{r:.1%}" if r == r else "—" for r in rates],
        "textposition": "outside",
        "marker": {"color": "#d9822b"},
        "cliponaxis": False,
    }
    top = max([1.0, *(r for r in rates if r == r)]) * 1.1
    return desk_figure([bar], title=title, x=x, y=y, percent_y=True, layout={"yaxis": {"range": [0, top]}})


def vintage_colours(count: int) -> list[str]:
    """`count` colours from light yellow-green (oldest) to dark purple (newest): neighbours stay distinguishable."""
    points = [1.0] if count == 1 else [i / (count - 1) for i in range(count)]
    return sample_colorscale(VINTAGE_SCALE, points)


def vintage_figure(curves: pd.DataFrame, *, column: str, title: str) -> go.Figure:
    """One curve per origination month: `column` (a cumulative share) against months on book.

    Columns origination_month, months_on_book and `column`; the oldest vintages are drawn
    light green, the newest dark purple, so the eye finds whether recent lending is worse.
    """
    x, y = _("months on book"), _("cumulative share")
    if curves.empty:
        return no_data_figure(title=title, x=x, y=y)
    groups = list(curves.groupby("origination_month", sort=True))
    colours = vintage_colours(len(groups))
    traces = [
        {
            "type": "scatter",
            "name": month.strftime("%Y-%m"),
            "x": _values(rows["months_on_book"]),
            "y": _values(rows[column]),
            "mode": "lines",
            "line": {"width": 1.5, "color": colour},
        }
        for (month, rows), colour in zip(groups, colours, strict=True)
    ]
    # Many vintages: the legend goes to the right, scrollable, rather than over the plot.
    layout = {
        "yaxis": {"rangemode": "tozero", "tickformat": ".1%"},
        "height": 380,
        # Newest first in the legend: the vintages a risk officer looks for are the recent ones.
        "legend": {
            "orientation": "v",
            "x": 1.02,
            "xanchor": "left",
            "y": 1,
            "yanchor": "top",
            "traceorder": "reversed",
        },
    }
    return desk_figure(traces, title=title, x=x, y=y, layout=layout)


def _stage_name(stage: int) -> str:
    return _("stage %(stage)d") % {"stage": stage}


def _stacked_area(name: str, x: pd.Series, y: pd.Series, colour: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "name": name,
        "x": _values(x),
        "y": _values(y),
        "mode": "lines",
        "stackgroup": "one",
        "line": {"width": 0.5, "color": colour},
    }


def ecl_by_product_figure(by_product: pd.DataFrame) -> go.Figure:
    """ECL by product, stacked by stage (columns product, stage, ecl)."""
    title, x, y = _("Expected loss by product and stage"), _("product"), _("ECL")
    if by_product.empty:
        return no_data_figure(title=title, x=x, y=y)
    stages = {stage: by_product[by_product["stage"] == stage] for stage in (1, 2, 3)}
    traces = [
        {
            "type": "bar",
            "name": _stage_name(stage),
            "x": _values(rows["product"]),
            "y": _values(rows["ecl"]),
            "marker": {"color": STAGE_COLOURS[stage]},
        }
        for stage, rows in stages.items()
    ]
    return desk_figure(traces, title=title, x=x, y=y, layout={"barmode": "stack"})


def ecl_trend_figure(trend: pd.DataFrame) -> go.Figure:
    """ECL by business date, stacked by stage (columns business_date, stage, ecl)."""
    title, x, y = _("Expected loss over time"), _("business date"), _("ECL")
    if trend.empty:
        return no_data_figure(title=title, x=x, y=y)
    stages = {stage: trend[trend["stage"] == stage] for stage in (1, 2, 3)}
    traces = [
        _stacked_area(_stage_name(stage), rows["business_date"], rows["ecl"], STAGE_COLOURS[stage])
        for stage, rows in stages.items()
    ]
    return desk_figure(traces, title=title, x=x, y=y)
