"""Schedules: due dates, the four methods, rounding. Pure: no database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.core.dates import add_months
from riskdesk.core.money import quantize_money
from riskdesk.lending.schedule import METHODS, build_schedule, level_payment

RATE = Decimal("0.00045")


def test_due_dates_from_jan_31_clamp_to_month_end_and_count_from_disbursement() -> None:
    lines = build_schedule(
        principal=Decimal("12000.00"),
        method="equal_installment",
        term=4,
        disbursed_on=date(2026, 1, 31),
        daily_rate=RATE,
    )
    assert [line.due_date for line in lines] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]
    assert [line.period_start for line in lines] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]


def test_a_period_across_feb_29_2028_counts_the_leap_day() -> None:
    lines = build_schedule(
        principal=Decimal("10000.00"), method="interest_first", term=2, disbursed_on=date(2028, 2, 15), daily_rate=RATE
    )
    # Feb 15 -> Mar 15 2028 is 29 days: 10000 x 0.00045 x 29 = 130.50
    assert lines[0].interest == Decimal("130.50")
    assert lines[0].due_date == date(2028, 3, 15)
    jan31 = build_schedule(
        principal=Decimal("10000.00"), method="interest_first", term=2, disbursed_on=date(2028, 1, 31), daily_rate=RATE
    )
    assert [line.due_date for line in jan31] == [date(2028, 2, 29), date(2028, 3, 31)]
    # Jan 31 -> Feb 29 is 29 days; Feb 29 -> Mar 31 is 31 days.
    assert [line.interest for line in jan31] == [Decimal("130.50"), Decimal("139.50")]


def test_equal_installment_level_payment_and_first_rows() -> None:
    assert level_payment(principal=Decimal("12000.00"), daily_rate=RATE, n=12) == Decimal("1089.91")
    lines = build_schedule(
        principal=Decimal("12000.00"),
        method="equal_installment",
        term=12,
        disbursed_on=date(2026, 1, 31),
        daily_rate=RATE,
    )
    # Period 1: 28 days on 12000 -> 151.20; principal = 1089.91 - 151.20.
    assert (lines[0].principal, lines[0].interest) == (Decimal("938.71"), Decimal("151.20"))
    # Period 2: 31 days on 11061.29 = 154.3049955 -> 154.30 (half-up at the cent).
    assert (lines[1].principal, lines[1].interest) == (Decimal("935.61"), Decimal("154.30"))
    assert sum(line.principal for line in lines) == Decimal("12000.00")
    # The last installment takes the rest of the principal.
    assert lines[-1].principal == Decimal("12000.00") - sum(line.principal for line in lines[:-1])


def test_equal_principal_gives_the_remainder_to_the_last_installment() -> None:
    lines = build_schedule(
        principal=Decimal("1000.00"), method="equal_principal", term=3, disbursed_on=date(2026, 3, 10), daily_rate=RATE
    )
    assert [line.principal for line in lines] == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    # Interest on the opening principal of each period: 31, 30, 31 days.
    assert [line.interest for line in lines] == [Decimal("13.95"), Decimal("9.00"), Decimal("4.65")]


def test_interest_first_repays_principal_at_the_end() -> None:
    lines = build_schedule(
        principal=Decimal("5000.00"), method="interest_first", term=3, disbursed_on=date(2026, 5, 1), daily_rate=RATE
    )
    assert [line.principal for line in lines] == [Decimal("0.00"), Decimal("0.00"), Decimal("5000.00")]
    assert [line.interest for line in lines] == [Decimal("69.75"), Decimal("67.50"), Decimal("69.75")]


def test_bullet_runs_term_days_and_charges_simple_interest() -> None:
    (line,) = build_schedule(
        principal=Decimal("3000.00"), method="bullet", term=30, disbursed_on=date(2026, 11, 20), daily_rate=RATE
    )
    assert line.due_date == date(2026, 12, 20)
    assert (line.principal, line.interest) == (Decimal("3000.00"), Decimal("40.50"))


def test_quantize_money_rounds_half_up() -> None:
    assert quantize_money(Decimal("0.005")) == Decimal("0.01")
    assert quantize_money(Decimal("2.345")) == Decimal("2.35")
    assert quantize_money(Decimal("2.3449999")) == Decimal("2.34")
    with pytest.raises(TypeError):
        quantize_money(0.1)  # type: ignore[arg-type]


def test_add_months_clamps_each_month_from_the_start_date() -> None:
    start = date(2026, 1, 31)
    assert [add_months(start, k) for k in (1, 2, 3, 13, 25)] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


principals = st.decimals(min_value=Decimal("100.00"), max_value=Decimal("500000.00"), places=2)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
rates = st.decimals(min_value=Decimal("0.000100"), max_value=Decimal("0.001000"), places=6)


@given(principal=principals, method=st.sampled_from(METHODS), term=st.integers(1, 36), disbursed_on=days, rate=rates)
def test_principal_parts_always_sum_to_the_principal(
    principal: Decimal, method: str, term: int, disbursed_on: date, rate: Decimal
) -> None:
    term = term * 10 if method == "bullet" else term
    lines = build_schedule(principal=principal, method=method, term=term, disbursed_on=disbursed_on, daily_rate=rate)
    assert sum(line.principal for line in lines) == principal
    assert all(line.principal >= 0 and line.interest >= 0 for line in lines)
    assert all(line.principal == quantize_money(line.principal) for line in lines)
    assert all(line.interest == quantize_money(line.interest) for line in lines)
    assert all(b.period_start == a.due_date for a, b in zip(lines, lines[1:], strict=False))
    assert lines[-1].due_date > disbursed_on and lines[-1].due_date <= disbursed_on + timedelta(days=31 * term + 1)
