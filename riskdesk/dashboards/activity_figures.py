"""The activity pages' charts: pure functions, a DataFrame in, a plotly Figure out.

No ORM here: riskdesk.dashboards.activity builds the frames from the day aggregates.
An empty frame gives the desk's "no data" figure, never an error; a rate with nothing
to divide (NaN) leaves a gap in its line rather than a zero. The look is the desk's
(riskmodels.figures.desk_figure, plain trace dicts, as the book's charts); codes are
shown in the desk's words (vocabulary).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from django.utils.translation import gettext as _

from riskdesk.core.vocabulary import label
from riskdesk.dashboards.figures import _values
from riskdesk.riskmodels.figures import BAD, INK, LATEST, TRAINING, WARN, desk_figure, no_data_figure

GOOD = "#2f8a5b"
CHANNEL_COLOURS = {
    "call": LATEST,
    "sms": "#7c5cc4",
    "email": "#3e9fb0",
    "push": "#d9a02b",
    "letter": "#8a6d3b",
    "visit": BAD,
    "": TRAINING,
}
STAGE_ORDER = ["early", "mid", "late", "write_off_review"]
STAGE_COLOURS = [WARN, "#cc5f2a", BAD, INK, TRAINING]
RATE_AXIS = {"yaxis": {"range": [0, 1.05]}}
# Counts and amounts start at 0: a chart whose series are all zero would otherwise span -1..1.
COUNT_AXIS = {"rangemode": "tozero"}


def work_rates_figure(trend: pd.DataFrame) -> go.Figure:
    """RPC rate and promise kept rate by business date (columns business_date, rpc_rate, kept_rate)."""
    title, x, y = _("Contact and promise rates"), _("business date"), _("rate")
    if trend.empty:
        return no_data_figure(title=title, x=x, y=y)
    dates = _values(trend["business_date"])
    traces = [
        {
            "type": "scatter",
            "name": name,
            "x": dates,
            "y": _values(trend[column]),
            "mode": "lines+markers",
            "line": {"color": colour, "width": 2},
            "marker": {"size": 4},
        }
        for column, name, colour in (
            ("rpc_rate", _("right-party contact rate"), LATEST),
            ("kept_rate", _("promise kept rate"), GOOD),
        )
    ]
    return desk_figure(traces, title=title, x=x, y=y, percent_y=True, layout=RATE_AXIS)


def recovered_figure(trend: pd.DataFrame) -> go.Figure:
    """Money recovered on loans in collections by business date (columns business_date, recovered)."""
    title, x, y = _("Amounts recovered"), _("business date"), _("recovered")
    if trend.empty:
        return no_data_figure(title=title, x=x, y=y)
    bar = {
        "type": "bar",
        "x": _values(trend["business_date"]),
        "y": _values(trend["recovered"]),
        "marker": {"color": LATEST},
        "hovertemplate": "%{x|%Y-%m-%d}: %{y:,.2f}<extra></extra>",
    }
    return desk_figure([bar], title=title, x=x, y=y, layout={"yaxis": {**COUNT_AXIS, "tickformat": ",.0f"}})


def cases_by_stage_figure(stages: pd.DataFrame) -> go.Figure:
    """Open cases per stage on the latest day (columns stage, cases_open), stages in their order."""
    title, x, y = _("Open cases by stage"), _("stage"), _("cases")
    if stages.empty:
        return no_data_figure(title=title, x=x, y=y)
    rank = {stage: i for i, stage in enumerate(STAGE_ORDER)}
    ordered = stages.sort_values("stage", key=lambda s: s.map(lambda v: rank.get(v, len(rank))))
    counts = _values(ordered["cases_open"])
    bar = {
        "type": "bar",
        "x": [str(label(s)) for s in ordered["stage"]],
        "y": counts,
        "text": counts,
        "textposition": "outside",
        "marker": {"color": [STAGE_COLOURS[min(rank.get(s, 4), 4)] for s in ordered["stage"]]},
        "cliponaxis": False,
    }
    return desk_figure([bar], title=title, x=x, y=y, layout={"yaxis": COUNT_AXIS})


def cure_rate_figure(cure: pd.DataFrame) -> go.Figure:
    """The cure rate by bucket, by count and by balance (columns from_bucket, cure_rate_count, cure_rate_balance)."""
    title, x, y = _("Cure rate by bucket"), _("bucket at the earlier month end"), _("cured by the next month end")
    if cure.empty:
        return no_data_figure(title=title, x=x, y=y)
    buckets = [str(label(b)) for b in cure["from_bucket"]]
    traces = [
        {"type": "bar", "name": name, "x": buckets, "y": _values(cure[column]), "marker": {"color": colour}}
        for column, name, colour in (
            ("cure_rate_count", _("by count"), LATEST),
            ("cure_rate_balance", _("by balance"), GOOD),
        )
    ]
    return desk_figure(traces, title=title, x=x, y=y, percent_y=True, layout={**RATE_AXIS, "barmode": "group"})


def blocked_by_rule_figure(blocked: pd.DataFrame) -> go.Figure:
    """Attempts the gate refused, by rule (bars) and channel (stacks) (columns rule, channel, count)."""
    title, x, y = _("Attempts blocked by rule"), _("attempts blocked"), ""
    if blocked.empty:
        return no_data_figure(title=title, x=x, y=y)
    totals = blocked.groupby("rule")["count"].sum().sort_values()
    rules = list(totals.index)  # fewest first: plotly draws the first category at the bottom
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": str(label(channel)) if channel else _("no channel"),
            "y": [str(label(r)) for r in rules],
            "x": _values(rows.set_index("rule")["count"].reindex(rules, fill_value=0)),
            "marker": {"color": CHANNEL_COLOURS.get(str(channel), INK)},
        }
        for channel, rows in blocked.groupby("channel", sort=True)
    ]
    # Rules are long phrases: room for them on the left, and a bar's height per rule.
    layout = {
        "barmode": "stack",
        "height": max(320, 80 + 28 * len(rules)),
        "margin": {"l": 220},
        "xaxis": COUNT_AXIS,
    }
    return desk_figure(traces, title=title, x=x, y=y, layout=layout)


def reminders_figure(daily: pd.DataFrame) -> go.Figure:
    """Reminders sent against blocked by business date (columns business_date, reminder_sent, reminder_blocked)."""
    title, x, y = _("Reminders sent and blocked"), _("business date"), _("reminders")
    if daily.empty:
        return no_data_figure(title=title, x=x, y=y)
    return desk_figure(
        _daily_bars(daily, (("reminder_sent", _("sent"), LATEST), ("reminder_blocked", _("blocked"), WARN))),
        title=title,
        x=x,
        y=y,
        layout={"barmode": "stack", "yaxis": COUNT_AXIS},
    )


def complaints_and_ceases_figure(daily: pd.DataFrame) -> go.Figure:
    """Complaints received and cease requests by business date (columns business_date, complaint, cease_request)."""
    title, x, y = _("Complaints and cease requests"), _("business date"), _("count")
    if daily.empty:
        return no_data_figure(title=title, x=x, y=y)
    few = int(daily[["complaint", "cease_request"]].max().max()) < 6
    # A few events over many days: stacked, each day's bar is as wide as a day allows (grouped
    # side by side they thin into hairlines on a 90-day range); whole steps when the counts are small.
    return desk_figure(
        _daily_bars(daily, (("complaint", _("complaints"), BAD), ("cease_request", _("cease requests"), INK))),
        title=title,
        x=x,
        y=y,
        layout={"barmode": "stack", "bargap": 0.1, "yaxis": {**COUNT_AXIS, "dtick": 1 if few else None}},
    )


def _daily_bars(daily: pd.DataFrame, series: tuple[tuple[str, str, str], ...]) -> list[dict[str, object]]:
    """One bar trace per (column, name, colour) of `daily` by business date."""
    dates = _values(daily["business_date"])
    return [
        {"type": "bar", "name": name, "x": dates, "y": _values(daily[column]), "marker": {"color": colour}}
        for column, name, colour in series
    ]
