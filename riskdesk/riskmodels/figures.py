"""The model page's charts: pure functions, a DataFrame in, a plotly Figure out.

No ORM here: riskmodels.selectors builds the frames from what close of day stored.
Words go through gettext, so a figure speaks the language of the request that draws it.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from django.utils.translation import gettext as _

from riskdesk.riskmodels.metrics import PSI_ACT, PSI_WATCH

INK = "#1f2933"
TRAINING = "#9aa5b1"
LATEST = "#2f6fde"
WARN = "#d9822b"
BAD = "#c23030"
SOURCE_COLOURS = {"train": TRAINING, "oot": "#7c5cc4", "live": LATEST}
METRIC_DASH = {"auc": "solid", "ks": "dash", "gini": "dot"}


# What the desk's charts take from plotly's default template ("plotly"): desk_figure names it
# so that plotly does not copy its whole default template (7 KB, ~10 ms) into every figure.
_AXIS = {
    "gridcolor": "white",
    "linecolor": "white",
    "ticks": "",
    "title": {"standoff": 15},
    "zerolinecolor": "white",
    "automargin": True,
    "zerolinewidth": 2,
}
DESK_TEMPLATE = {
    "layout": {
        "autotypenumbers": "strict",
        "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880"],
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "paper_bgcolor": "white",
        "xaxis": _AXIS,
        "yaxis": _AXIS,
    },
    "data": {"heatmap": [{"colorbar": {"outlinewidth": 0, "ticks": ""}}]},
}


def desk_layout_spec(*, title: str, x: str, y: str, percent_y: bool = False) -> dict[str, Any]:
    """The desk's look as a plotly layout: title top left, a short legend top right, light grid."""
    return {
        "title": {"text": title, "x": 0, "font": {"size": 14}},
        "xaxis": {"title": {"text": x}},
        "yaxis": {
            "title": {"text": y},
            "gridcolor": "#e4e7eb",
            "zeroline": False,
            "tickformat": ".0%" if percent_y else None,
        },
        "margin": {"l": 56, "r": 16, "t": 56, "b": 48},
        "height": 320,
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        "plot_bgcolor": "white",
        "font": {"color": INK, "size": 12},
    }


def desk_layout(fig: go.Figure, *, title: str, x: str, y: str, percent_y: bool = False) -> go.Figure:
    """`fig` in the desk's look (every app's charts share it)."""
    fig.update_layout(desk_layout_spec(title=title, x=x, y=y, percent_y=percent_y))
    return fig


def desk_figure(
    traces: list[dict[str, Any]],
    *,
    title: str,
    x: str,
    y: str,
    percent_y: bool = False,
    layout: dict[str, Any] | None = None,
) -> go.Figure:
    """A figure in the desk's look from plain trace dicts (each with its "type"), `layout` merged over the look.

    Built without plotly's property validation: validating a figure's few hundred
    properties costs tens of milliseconds, more than the page's queries, and the specs
    here are our own code's (the figure tests hold them to what plotly.js draws).
    """
    spec = desk_layout_spec(title=title, x=x, y=y, percent_y=percent_y)
    spec["template"] = copy.deepcopy(DESK_TEMPLATE)
    for key, value in (layout or {}).items():
        spec[key] = {**spec[key], **value} if isinstance(value, dict) and isinstance(spec.get(key), dict) else value
    return go.Figure(data=traces, layout=spec, _validate=False)


def sample_name(source: str) -> str:
    return {"train": _("training"), "oot": _("out of time"), "live": _("live, matured")}.get(source, source)


def score_distribution_figure(frame: pd.DataFrame) -> go.Figure:
    """Share of loans per score bin, training against the latest night (columns label, training, latest)."""
    fig = go.Figure(
        [
            go.Bar(name=_("training"), x=frame["label"], y=frame["training"], marker_color=TRAINING),
            go.Bar(name=_("latest night"), x=frame["label"], y=frame["latest"], marker_color=LATEST),
        ]
    )
    fig.update_layout(barmode="group")
    return desk_layout(fig, title=_("Score distribution"), x=_("score (points)"), y=_("share of loans"), percent_y=True)


def psi_figure(frame: pd.DataFrame) -> go.Figure:
    """PSI of the score by night (columns business_date, psi), with the 0.10 watch and 0.25 act lines."""
    fig = go.Figure(
        go.Scatter(
            name="PSI",
            x=frame["business_date"],
            y=frame["psi"],
            mode="lines+markers",
            line={"color": LATEST},
            marker={"size": 4},
        )
    )
    for level, colour, words in ((PSI_WATCH, WARN, _("watch")), (PSI_ACT, BAD, _("act"))):
        fig.add_hline(
            y=level,
            line={"color": colour, "dash": "dash", "width": 1},
            annotation_text=f"{words} {level:.2f}",
            annotation_position="top left",
        )
    top = max([PSI_ACT * 1.2, *frame["psi"].dropna().tolist()]) if len(frame) else PSI_ACT * 1.2
    fig.update_yaxes(range=[0, top * 1.05])
    return desk_layout(fig, title=_("Score stability (PSI) by night"), x=_("business date"), y="PSI")


def discrimination_figure(frame: pd.DataFrame) -> go.Figure:
    """AUC, KS and Gini by observation month (columns month, source, auc, ks, gini); one colour per sample."""
    fig = go.Figure()
    for source, rows in frame.groupby("source", sort=False):
        for metric, dash in METRIC_DASH.items():
            fig.add_trace(
                go.Scatter(
                    name=f"{metric.upper()} · {sample_name(str(source))}",
                    x=rows["month"],
                    y=rows[metric],
                    mode="lines+markers",
                    line={"color": SOURCE_COLOURS.get(str(source), INK), "dash": dash},
                    marker={"size": 5},
                    legendgroup=str(source),
                )
            )
    fig.update_yaxes(range=[0, 1])
    desk_layout(fig, title=_("Discrimination by observation month"), x="", y="")
    # Nine entries: the legend goes under the plot, in three rows of one sample each.
    fig.update_layout(height=380, legend={"x": 0, "xanchor": "left", "y": -0.12, "yanchor": "top"})
    return fig


def calibration_figure(frame: pd.DataFrame) -> go.Figure:
    """Predicted (bars) against observed (markers) bad rate by band (columns band, source, predicted, observed)."""
    fig = go.Figure()
    for source, rows in frame.groupby("source", sort=False):
        colour = SOURCE_COLOURS.get(str(source), INK)
        name = sample_name(str(source))
        fig.add_trace(
            go.Bar(
                name=_("predicted · %(sample)s") % {"sample": name},
                x=rows["band"],
                y=rows["predicted"],
                marker_color=colour,
                opacity=0.55,
                offsetgroup=str(source),
            )
        )
        fig.add_trace(
            go.Scatter(
                name=_("observed · %(sample)s") % {"sample": name},
                x=rows["band"],
                y=rows["observed"],
                mode="markers",
                marker={"color": colour, "size": 11, "symbol": "diamond", "line": {"color": INK, "width": 1}},
                offsetgroup=str(source),
            )
        )
    # scattermode "group" puts each observed marker over its own sample's bar.
    fig.update_layout(barmode="group", scattermode="group")
    fig.update_xaxes(categoryorder="category ascending")
    return desk_layout(fig, title=_("Calibration by band"), x=_("band"), y=_("bad rate"), percent_y=True)


def no_data_figure(*, title: str, x: str = "", y: str = "") -> go.Figure:
    """An empty chart in the desk's look saying there is nothing to draw, rather than failing or blank axes."""
    message = {
        "text": _("No data for these filters"),
        "x": 0.5,
        "y": 0.5,
        "xref": "paper",
        "yref": "paper",
        "showarrow": False,
        "font": {"size": 14, "color": TRAINING},
    }
    hidden = {"visible": False}
    return desk_figure([], title=title, x=x, y=y, layout={"annotations": [message], "xaxis": hidden, "yaxis": hidden})


# JSON escapes for the characters that could end a <script> block or open markup inside it
# (as Django's json_script writes them): the text stays the same JSON.
_JSON_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def figure_html(fig: go.Figure, div_id: str) -> str:
    """The figure as a <div> and its plotly spec in a JSON block, which static/js/desk.js draws.

    The spec is data (<script type="application/json">, never run), not an inline script, so
    the content security policy needs no exception for charts. The page loads plotly.js once
    with `defer` (see views.plotly_js), before desk.js.
    """
    spec = fig.to_json().translate(_JSON_SCRIPT_ESCAPES)
    return (
        f'<div id="{div_id}" class="plotly-figure" data-figure="{div_id}-spec"></div>\n'
        f'<script type="application/json" id="{div_id}-spec">{spec}</script>'
    )
