"""The activity pages' charts: pure functions, a DataFrame in, a plotly Figure out.

No ORM here: riskdesk.dashboards.activity builds the frames from the day aggregates.
An empty frame gives the desk's "no data" figure, never an error; a rate with nothing
to divide (NaN) leaves a gap in its line rather than a zero. The look is the desk's
(riskmodels.figures.desk_layout); codes are shown in the desk's words (vocabulary).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from django.utils.translation import gettext as _

from riskdesk.core.vocabulary import label
from riskdesk.riskmodels.figures import BAD, INK, LATEST, TRAINING, WARN, desk_layout, no_data_figure

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


def work_rates_figure(trend: pd.DataFrame) -> go.Figure:
    """RPC rate and promise kept rate by business date (columns business_date, rpc_rate, kept_rate)."""
    title, x, y = _("Contact and promise rates"), _("business date"), _("rate")
    if trend.empty:
        return no_data_figure(title=title, x=x, y=y)
    fig = go.Figure(
        [
            go.Scatter(
                name=_("right-party contact rate"),
                x=trend["business_date"],
                y=trend["rpc_rate"],
                mode="lines+markers",
                line={"color": LATEST, "width": 2},
                marker={"size": 4},
            ),
            go.Scatter(
                name=_("promise kept rate"),
                x=trend["business_date"],
                y=trend["kept_rate"],
                mode="lines+markers",
                line={"color": GOOD, "width": 2},
                marker={"size": 4},
            ),
        ]
    )
    desk_layout(fig, title=title, x=x, y=y, percent_y=True)
    fig.update_yaxes(range=[0, 1.05])
    return fig


def recovered_figure(trend: pd.DataFrame) -> go.Figure:
    """Money recovered on loans in collections by business date (columns business_date, recovered)."""
    title, x, y = _("Amounts recovered"), _("business date"), _("recovered")
    if trend.empty:
        return no_data_figure(title=title, x=x, y=y)
    fig = go.Figure(
        go.Bar(
            x=trend["business_date"],
            y=trend["recovered"].astype(float),
            marker_color=LATEST,
            hovertemplate="%{x|%Y-%m-%d}: %{y:,.2f}<extra></extra>",
        )
    )
    desk_layout(fig, title=title, x=x, y=y)
    fig.update_yaxes(tickformat=",.0f", rangemode="tozero")
    return fig


def cases_by_stage_figure(stages: pd.DataFrame) -> go.Figure:
    """Open cases per stage on the latest day (columns stage, cases_open), stages in their order."""
    title, x, y = _("Open cases by stage"), _("stage"), _("cases")
    if stages.empty:
        return no_data_figure(title=title, x=x, y=y)
    rank = {stage: i for i, stage in enumerate(STAGE_ORDER)}
    ordered = stages.sort_values("stage", key=lambda s: s.map(lambda v: rank.get(v, len(rank))))
    fig = go.Figure(
        go.Bar(
            x=[str(label(s)) for s in ordered["stage"]],
            y=ordered["cases_open"],
            text=ordered["cases_open"],
            textposition="outside",
            marker_color=[WARN, "#cc5f2a", BAD, INK, TRAINING][: len(ordered)],
            cliponaxis=False,
        )
    )
    return desk_layout(fig, title=title, x=x, y=y)


def cure_rate_figure(cure: pd.DataFrame) -> go.Figure:
    """The cure rate by bucket, by count and by balance (columns from_bucket, cure_rate_count, cure_rate_balance)."""
    title, x, y = _("Cure rate by bucket"), _("bucket at the earlier month end"), _("cured by the next month end")
    if cure.empty:
        return no_data_figure(title=title, x=x, y=y)
    buckets = [str(label(b)) for b in cure["from_bucket"]]
    fig = go.Figure(
        [
            go.Bar(name=_("by count"), x=buckets, y=cure["cure_rate_count"], marker_color=LATEST),
            go.Bar(name=_("by balance"), x=buckets, y=cure["cure_rate_balance"], marker_color=GOOD),
        ]
    )
    fig.update_layout(barmode="group")
    desk_layout(fig, title=title, x=x, y=y, percent_y=True)
    fig.update_yaxes(range=[0, 1.05])
    return fig


def blocked_by_rule_figure(blocked: pd.DataFrame) -> go.Figure:
    """Attempts the gate refused, by rule (bars) and channel (stacks) (columns rule, channel, count)."""
    title, x, y = _("Attempts blocked by rule"), _("attempts blocked"), ""
    if blocked.empty:
        return no_data_figure(title=title, x=x, y=y)
    totals = blocked.groupby("rule")["count"].sum().sort_values()
    rules = list(totals.index)  # fewest first: plotly draws the first category at the bottom
    fig = go.Figure()
    for channel, rows in blocked.groupby("channel", sort=True):
        counts = rows.set_index("rule")["count"].reindex(rules, fill_value=0)
        fig.add_trace(
            go.Bar(
                name=str(label(channel)) if channel else _("no channel"),
                y=[str(label(r)) for r in rules],
                x=counts.tolist(),
                orientation="h",
                marker_color=CHANNEL_COLOURS.get(str(channel), INK),
            )
        )
    fig.update_layout(barmode="stack")
    desk_layout(fig, title=title, x=x, y=y)
    # Rules are long phrases: room for them on the left, and a bar's height per rule.
    fig.update_layout(height=max(320, 80 + 28 * len(rules)), margin={"l": 220})
    return fig


def reminders_figure(daily: pd.DataFrame) -> go.Figure:
    """Reminders sent against blocked by business date (columns business_date, reminder_sent, reminder_blocked)."""
    title, x, y = _("Reminders sent and blocked"), _("business date"), _("reminders")
    if daily.empty:
        return no_data_figure(title=title, x=x, y=y)
    fig = go.Figure(
        [
            go.Bar(name=_("sent"), x=daily["business_date"], y=daily["reminder_sent"], marker_color=LATEST),
            go.Bar(name=_("blocked"), x=daily["business_date"], y=daily["reminder_blocked"], marker_color=WARN),
        ]
    )
    fig.update_layout(barmode="stack")
    return desk_layout(fig, title=title, x=x, y=y)


def complaints_and_ceases_figure(daily: pd.DataFrame) -> go.Figure:
    """Complaints received and cease requests by business date (columns business_date, complaint, cease_request)."""
    title, x, y = _("Complaints and cease requests"), _("business date"), _("count")
    if daily.empty:
        return no_data_figure(title=title, x=x, y=y)
    fig = go.Figure(
        [
            go.Bar(name=_("complaints"), x=daily["business_date"], y=daily["complaint"], marker_color=BAD),
            go.Bar(name=_("cease requests"), x=daily["business_date"], y=daily["cease_request"], marker_color=INK),
        ]
    )
    # A few events over many days: stacked, each day's bar is as wide as a day allows (grouped
    # side by side they thin into hairlines on a 90-day range).
    fig.update_layout(barmode="stack", bargap=0.1)
    desk_layout(fig, title=title, x=x, y=y)
    fig.update_yaxes(
        rangemode="tozero", dtick=1 if int(daily[["complaint", "cease_request"]].max().max()) < 6 else None
    )
    return fig
