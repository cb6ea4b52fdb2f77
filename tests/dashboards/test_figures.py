"""The book pages' figures on small hand-made frames: axes, trace values, and the no-data state."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from riskdesk.dashboards import figures

NO_DATA = "No data for these filters"
D1, D2 = date(2026, 10, 1), date(2026, 10, 2)


def annotations(fig) -> list[str]:  # noqa: ANN001 - a plotly Figure
    return [a.text for a in fig.layout.annotations]


def test_ratio_trend_draws_the_three_levels_by_balance() -> None:
    trend = pd.DataFrame(
        {
            "business_date": [D1, D2],
            "dpd1_balance_ratio": [0.10, 0.12],
            "dpd30_balance_ratio": [0.05, 0.06],
            "dpd90_balance_ratio": [0.01, 0.02],
        }
    )
    fig = figures.dpd_ratio_trend_figure(trend, basis="balance")
    assert [t.name for t in fig.data] == ["DPD1+", "DPD30+", "DPD90+"]
    assert list(fig.data[1].y) == [0.05, 0.06]
    assert list(fig.data[1].x) == ["2026-10-01", "2026-10-02"]
    assert fig.layout.yaxis.title.text == "share of outstanding principal"
    assert fig.layout.yaxis.tickformat == ".1%"
    assert fig.layout.title.text == "Delinquency by balance"


def test_ratio_trend_by_count_reads_the_count_columns() -> None:
    trend = pd.DataFrame(
        {"business_date": [D1], "dpd1_count_ratio": [0.2], "dpd30_count_ratio": [0.1], "dpd90_count_ratio": [0.0]}
    )
    fig = figures.dpd_ratio_trend_figure(trend, basis="count")
    assert fig.layout.yaxis.title.text == "share of loans"
    assert list(fig.data[0].y) == [0.2]


def test_bucket_mix_stacks_the_delinquent_buckets_as_shares_of_the_book() -> None:
    mix = pd.DataFrame(
        {
            "business_date": [D1, D1, D1, D2, D2],
            "bucket": ["M2", "M1", "M0", "M0", "M1"],
            "outstanding_principal": [
                Decimal("100.00"),
                Decimal("300.00"),
                Decimal("600.00"),
                Decimal("800.00"),
                Decimal("200.00"),
            ],
        }
    )
    fig = figures.bucket_mix_figure(mix, order=["M0", "M1", "M2"])
    # current (M0) is left out; the others stack in the configured order, as shares of the whole book
    assert [t.name for t in fig.data] == ["M1", "M2"]
    assert list(fig.data[0].x) == ["2026-10-01", "2026-10-02"]
    assert list(fig.data[0].y) == [0.3, 0.2]
    assert list(fig.data[1].y) == [0.1]
    assert {t.stackgroup for t in fig.data} == {"one"}
    assert fig.layout.yaxis.tickformat == ".1%"
    assert fig.layout.xaxis.title.text == "business date"


def test_transition_heatmap_puts_from_buckets_on_rows_with_share_labels() -> None:
    matrix = pd.DataFrame([[0.9, 0.1], [0.25, 0.75]], index=["M0", "M1"], columns=["M0", "paid_off"])
    fig = figures.transition_heatmap_figure(matrix, measure="balance", month="2026-10-31")
    heat = fig.data[0]
    assert list(heat.y) == ["M0", "M1"]
    assert list(heat.x) == ["M0", "paid off"]
    assert [list(row) for row in heat.z] == [[0.9, 0.1], [0.25, 0.75]]
    assert [list(row) for row in heat.text] == [["90.0%", "10.0%"], ["25.0%", "75.0%"]]
    assert fig.layout.title.text == "Roll rates by balance, month ending 2026-10-31"
    assert fig.layout.yaxis.title.text == "bucket a month before"


def test_flow_rate_chart_labels_each_step() -> None:
    flows = pd.DataFrame({"from_bucket": ["M0", "M1"], "to_bucket": ["M1", "written_off"], "rate": [0.05, 0.4]})
    fig = figures.flow_rate_figure(flows)
    assert list(fig.data[0].x) == ["M0 → M1", "M1 → written off"]
    assert list(fig.data[0].y) == [0.05, 0.4]
    assert list(fig.data[0].text) == ["5.0%", "40.0%"]


def test_vintage_chart_draws_one_curve_per_origination_month() -> None:
    curves = pd.DataFrame(
        {
            "origination_month": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 2, 1)],
            "months_on_book": [1, 2, 1],
            "ever30_share": [0.0, 0.05, 0.02],
        }
    )
    fig = figures.vintage_figure(curves, column="ever30_share", title="Ever 30+ by count")
    assert [t.name for t in fig.data] == ["2026-01", "2026-02"]
    assert [t.line.color for t in fig.data] == ["rgb(181, 222, 43)", "rgb(68, 1, 84)"]  # oldest light, newest dark
    assert list(fig.data[0].x) == [1, 2]
    assert list(fig.data[0].y) == [0.0, 0.05]
    assert fig.layout.xaxis.title.text == "months on book"


def test_ecl_by_product_stacks_the_three_stages() -> None:
    by_product = pd.DataFrame(
        {"product": ["a", "a", "b"], "stage": [1, 3, 2], "ecl": [Decimal("10.00"), Decimal("5.50"), Decimal("2.25")]}
    )
    fig = figures.ecl_by_product_figure(by_product)
    assert [t.name for t in fig.data] == ["stage 1", "stage 2", "stage 3"]
    assert (list(fig.data[1].x), list(fig.data[1].y)) == (["b"], [2.25])
    assert fig.layout.barmode == "stack"


def test_ecl_trend_stacks_stages_over_dates() -> None:
    trend = pd.DataFrame({"business_date": [D1, D2], "stage": [1, 1], "ecl": [Decimal("1.00"), Decimal("2.00")]})
    fig = figures.ecl_trend_figure(trend)
    assert list(fig.data[0].y) == [1.0, 2.0]
    assert list(fig.data[1].y) == []


@pytest.mark.parametrize(
    "draw",
    [
        lambda: figures.dpd_ratio_trend_figure(pd.DataFrame(), basis="balance"),
        lambda: figures.bucket_mix_figure(pd.DataFrame(), order=["M0"]),
        lambda: figures.transition_heatmap_figure(pd.DataFrame(), measure="loans"),
        lambda: figures.flow_rate_figure(pd.DataFrame(columns=["from_bucket", "to_bucket", "rate"])),
        lambda: figures.vintage_figure(pd.DataFrame(), column="ever30_share", title="t"),
        lambda: figures.ecl_by_product_figure(pd.DataFrame()),
        lambda: figures.ecl_trend_figure(pd.DataFrame()),
    ],
)
def test_an_empty_frame_draws_the_no_data_state(draw) -> None:  # noqa: ANN001
    fig = draw()
    assert annotations(fig) == [NO_DATA]
    assert fig.data == ()
    assert fig.layout.title.text


def test_flow_rates_without_any_measured_rate_are_no_data() -> None:
    flows = pd.DataFrame({"from_bucket": ["M0"], "to_bucket": ["M1"], "rate": [float("nan")]})
    assert annotations(figures.flow_rate_figure(flows)) == [NO_DATA]
