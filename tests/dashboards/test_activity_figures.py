"""The activity pages' figures on small hand-made frames: axes, values, and the no-data state."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pandas as pd
import plotly.graph_objects as go
import pytest

from riskdesk.dashboards import activity_figures as figures

D1, D2 = date(2026, 11, 20), date(2026, 11, 21)


def no_data(fig: go.Figure) -> bool:
    return not fig.data and any("No data" in (a.text or "") for a in fig.layout.annotations)


@pytest.mark.parametrize(
    ("draw", "columns"),
    [
        (figures.work_rates_figure, ["business_date", "rpc_rate", "kept_rate"]),
        (figures.recovered_figure, ["business_date", "recovered"]),
        (figures.cases_by_stage_figure, ["stage", "cases_open"]),
        (figures.cure_rate_figure, ["from_bucket", "cure_rate_count", "cure_rate_balance"]),
        (figures.blocked_by_rule_figure, ["rule", "channel", "count"]),
        (figures.reminders_figure, ["business_date", "reminder_sent", "reminder_blocked"]),
        (figures.complaints_and_ceases_figure, ["business_date", "complaint", "cease_request"]),
    ],
)
def test_an_empty_frame_draws_the_no_data_state(draw: object, columns: list[str]) -> None:
    fig = draw(pd.DataFrame(columns=columns))  # type: ignore[operator]
    assert no_data(fig)
    assert fig.layout.title.text  # the chart keeps its title, so the reader knows what is missing


def test_work_rates_draw_both_rates_by_day_with_a_gap_where_there_is_no_rate() -> None:
    trend = pd.DataFrame({"business_date": [D1, D2], "rpc_rate": [0.25, 0.5], "kept_rate": [float("nan"), 0.75]})
    fig = figures.work_rates_figure(trend)
    rpc, kept = fig.data
    assert list(rpc.y) == [0.25, 0.5] and list(rpc.x) == ["2026-11-20", "2026-11-21"]
    assert math.isnan(kept.y[0]) and kept.y[1] == 0.75
    assert fig.layout.yaxis.tickformat == ".0%"
    assert fig.layout.xaxis.title.text == "business date"


def test_recovered_bars_carry_each_days_amount() -> None:
    fig = figures.recovered_figure(
        pd.DataFrame({"business_date": [D1, D2], "recovered": [Decimal("300.50"), Decimal("1099.49")]})
    )
    assert list(fig.data[0].y) == [300.50, 1099.49]
    assert fig.layout.yaxis.title.text == "recovered"


def test_cases_by_stage_come_in_the_stages_order_in_the_desks_words() -> None:
    stages = pd.DataFrame({"stage": ["late", "early", "mid"], "cases_open": [3, 5, 4]})
    bar = figures.cases_by_stage_figure(stages).data[0]
    assert list(bar.x) == ["early (M1)", "mid (M2–M3)", "late (M4+)"]
    assert list(bar.y) == [5, 4, 3]


def test_cure_rates_draw_by_count_and_by_balance_per_bucket() -> None:
    cure = pd.DataFrame({"from_bucket": ["M1", "M2"], "cure_rate_count": [0.8, 0.0], "cure_rate_balance": [0.7, 0.1]})
    count, balance = figures.cure_rate_figure(cure).data
    assert (list(count.x), list(count.y)) == (["M1", "M2"], [0.8, 0.0])
    assert list(balance.y) == [0.7, 0.1]


def test_blocked_attempts_stack_channels_per_rule_the_most_blocked_rule_on_top() -> None:
    blocked = pd.DataFrame(
        {"rule": ["quiet_hours", "dispute_pause", "quiet_hours"], "channel": ["call", "sms", "sms"], "count": [4, 2, 1]}
    )
    fig = figures.blocked_by_rule_figure(blocked)
    by_channel = {trace.name: trace for trace in fig.data}
    assert set(by_channel) == {"call", "SMS"}
    # Fewest first: plotly draws the first category at the bottom of a horizontal bar chart.
    assert list(by_channel["call"].y) == ["paused: open dispute", "quiet hours"]
    assert list(by_channel["call"].x) == [0, 4]
    assert list(by_channel["SMS"].x) == [2, 1]
    assert fig.layout.barmode == "stack"


def test_reminders_stack_sent_over_blocked_by_day() -> None:
    daily = pd.DataFrame({"business_date": [D1, D2], "reminder_sent": [10, 7], "reminder_blocked": [1, 0]})
    sent, blocked = figures.reminders_figure(daily).data
    assert (list(sent.y), list(blocked.y)) == ([10, 7], [1, 0])


def test_complaints_and_ceases_are_counted_in_whole_steps_when_few() -> None:
    daily = pd.DataFrame({"business_date": [D1, D2], "complaint": [1, 2], "cease_request": [1, 0]})
    fig = figures.complaints_and_ceases_figure(daily)
    assert [list(trace.y) for trace in fig.data] == [[1, 2], [1, 0]]
    assert fig.layout.yaxis.dtick == 1


@pytest.mark.parametrize(
    ("draw", "frame", "axis"),
    [
        (
            figures.reminders_figure,
            {"business_date": [D1, D2], "reminder_sent": [0, 0], "reminder_blocked": [0, 0]},
            "yaxis",
        ),
        (
            figures.complaints_and_ceases_figure,
            {"business_date": [D1, D2], "complaint": [0, 0], "cease_request": [0, 0]},
            "yaxis",
        ),
        (figures.recovered_figure, {"business_date": [D1, D2], "recovered": [Decimal("0"), Decimal("0")]}, "yaxis"),
        (figures.cases_by_stage_figure, {"stage": ["early"], "cases_open": [0]}, "yaxis"),
        (figures.blocked_by_rule_figure, {"rule": ["quiet_hours"], "channel": ["call"], "count": [0]}, "xaxis"),
    ],
)
def test_a_count_axis_starts_at_zero_even_when_every_series_is_zero(draw: object, frame: dict, axis: str) -> None:
    # All zeros would otherwise draw an axis from -1 to 1.
    fig = draw(pd.DataFrame(frame))  # type: ignore[operator]
    assert fig.layout[axis].rangemode == "tozero"
