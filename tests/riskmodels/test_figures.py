"""The model page's figures: pure functions of a frame, with the traces the page promises."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pytest
from django.utils import translation

from riskdesk.riskmodels import figures


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    """Figures speak the active language; these tests read the English words."""
    with translation.override("en"):
        yield


def test_score_distribution_puts_training_beside_the_latest_night() -> None:
    frame = pd.DataFrame(
        {
            "bin": [0, 1, 2],
            "label": ["< 560", "560–600", "≥ 600"],
            "training": [0.2, 0.5, 0.3],
            "latest": [0.1, 0.4, 0.5],
        }
    )

    fig = figures.score_distribution_figure(frame)

    assert isinstance(fig, go.Figure)
    assert [(t.type, t.name) for t in fig.data] == [("bar", "training"), ("bar", "latest night")]
    assert list(fig.data[0].x) == ["< 560", "560–600", "≥ 600"]
    assert list(fig.data[1].y) == [0.1, 0.4, 0.5]
    assert fig.layout.barmode == "group"


def test_psi_by_night_draws_the_watch_and_act_lines() -> None:
    frame = pd.DataFrame({"business_date": [date(2026, 11, 20), date(2026, 11, 21)], "psi": [0.05, 0.31]})

    fig = figures.psi_figure(frame)

    assert [(t.type, list(t.y)) for t in fig.data] == [("scatter", [0.05, 0.31])]
    lines = sorted(shape.y0 for shape in fig.layout.shapes)
    assert lines == [0.10, 0.25]
    assert [a.text for a in fig.layout.annotations] == ["watch 0.10", "act 0.25"]
    # the axis reaches past the worst night, so the act line and the point both show
    assert fig.layout.yaxis.range[1] > 0.31


def test_psi_figure_of_no_night_still_shows_both_lines() -> None:
    fig = figures.psi_figure(pd.DataFrame({"business_date": [], "psi": []}))

    assert sorted(shape.y0 for shape in fig.layout.shapes) == [0.10, 0.25]


def test_discrimination_draws_auc_ks_and_gini_per_sample() -> None:
    frame = pd.DataFrame(
        {
            "month": [date(2026, 3, 31), date(2026, 6, 30), date(2026, 8, 31)],
            "source": ["train", "oot", "live"],
            "auc": [0.8, 0.79, 0.77],
            "ks": [0.47, 0.45, 0.42],
            "gini": [0.6, 0.58, 0.55],
        }
    )

    fig = figures.discrimination_figure(frame)

    assert [t.name for t in fig.data] == [
        "AUC · training",
        "KS · training",
        "GINI · training",
        "AUC · out of time",
        "KS · out of time",
        "GINI · out of time",
        "AUC · live, matured",
        "KS · live, matured",
        "GINI · live, matured",
    ]
    live_ks = next(t for t in fig.data if t.name == "KS · live, matured")
    assert list(live_ks.y) == [0.42]
    assert live_ks.line.dash == "dash"


def test_calibration_draws_predicted_bars_and_observed_markers_per_sample() -> None:
    frame = pd.DataFrame(
        {
            "band": ["A", "D", "A"],
            "source": ["oot", "oot", "live"],
            "loans": [900, 100, 800],
            "predicted": [0.012, 0.21, 0.01],
            "observed": [0.01, 0.25, 0.02],
        }
    )

    fig = figures.calibration_figure(frame)

    assert [(t.type, t.name) for t in fig.data] == [
        ("bar", "predicted · out of time"),
        ("scatter", "observed · out of time"),
        ("bar", "predicted · live, matured"),
        ("scatter", "observed · live, matured"),
    ]
    assert list(fig.data[1].y) == [0.01, 0.25]
    assert fig.data[0].offsetgroup == fig.data[1].offsetgroup == "oot"


def test_figure_html_leaves_plotly_js_to_the_page() -> None:
    fig = figures.psi_figure(pd.DataFrame({"business_date": [date(2026, 11, 21)], "psi": [0.1]}))

    html = figures.figure_html(fig, "chart-psi")

    assert '<div id="chart-psi" class="plotly-figure" data-figure="chart-psi-spec">' in html
    # The spec is a JSON data block static/js/desk.js draws, not an inline script (the CSP refuses those).
    spec = html.split('<script type="application/json" id="chart-psi-spec">', 1)[1].removesuffix("</script>")
    assert json.loads(spec)["data"][0]["type"] == "scatter"
    assert "<" not in spec
    assert len(html) < 20_000  # the 4.6 MB bundle is not inlined
