"""Repayment schedules: due dates and the principal and interest of each period.

Pure arithmetic, no ORM. Notation of DESIGN.md: principal P, n installments, daily
rate r, opening principal of period k O_k, days in period k d_k. Period 1 runs from
the disbursement date to the first due date; due dates are monthly on the
disbursement day, clamped to month end and always counted from the disbursement
date. Interest of period k is O_k * r * d_k; every amount is rounded half-up to the
cent and the principal parts sum exactly to P.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from riskdesk.core.dates import add_months
from riskdesk.core.money import ZERO, quantize_money

EQUAL_INSTALLMENT = "equal_installment"  # 等额本息
EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
INTEREST_FIRST = "interest_first"  # 先息后本
BULLET = "bullet"  # 到期一次还本付息
METHODS = (EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_FIRST, BULLET)


@dataclass(frozen=True)
class Period:
    start: date
    due: date

    @property
    def days(self) -> int:
        return (self.due - self.start).days


@dataclass(frozen=True)
class ScheduleLine:
    seq: int
    period_start: date
    due_date: date
    principal: Decimal
    interest: Decimal


def periods_for(*, disbursed_on: date, term: int, method: str) -> list[Period]:
    """The periods of a loan: `term` months, or one period of `term` days for a bullet loan."""
    if method == BULLET:
        return [Period(disbursed_on, disbursed_on + timedelta(days=term))]
    dues = [add_months(disbursed_on, k) for k in range(1, term + 1)]
    return [Period(start, due) for start, due in zip([disbursed_on, *dues[:-1]], dues, strict=True)]


def level_payment(*, principal: Decimal, daily_rate: Decimal, n: int) -> Decimal:
    """The 等额本息 payment A = P*i*(1+i)^n / ((1+i)^n - 1) with i = 30*r, rounded."""
    i = 30 * daily_rate
    if i == 0:
        return quantize_money(principal / n)
    growth = (1 + i) ** n
    return quantize_money(principal * i * growth / (growth - 1))


def principal_parts(*, balance: Decimal, method: str, periods: list[Period], daily_rate: Decimal) -> list[Decimal]:
    """Split `balance` over `periods` by `method`; the last part takes the rest, so they sum to it."""
    n = len(periods)
    if method in (INTEREST_FIRST, BULLET):
        return [ZERO] * (n - 1) + [balance]
    parts: list[Decimal] = []
    remaining = balance
    if method == EQUAL_PRINCIPAL:
        level = quantize_money(balance / n)
        for _ in periods[:-1]:
            part = min(level, remaining)
            parts.append(part)
            remaining -= part
        return parts + [remaining]
    payment = level_payment(principal=balance, daily_rate=daily_rate, n=n)
    for period in periods[:-1]:
        interest = quantize_money(remaining * daily_rate * period.days)
        # A long first period can make interest exceed the level payment: never a negative part.
        part = min(max(payment - interest, ZERO), remaining)
        parts.append(part)
        remaining -= part
    return parts + [remaining]


def build_schedule(
    *, principal: Decimal, method: str, term: int, disbursed_on: date, daily_rate: Decimal
) -> list[ScheduleLine]:
    """The original schedule of a loan, as DESIGN.md's table of methods defines it."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    periods = periods_for(disbursed_on=disbursed_on, term=term, method=method)
    parts = principal_parts(balance=principal, method=method, periods=periods, daily_rate=daily_rate)
    lines: list[ScheduleLine] = []
    opening = principal
    for seq, (period, part) in enumerate(zip(periods, parts, strict=True), start=1):
        interest = quantize_money(opening * daily_rate * period.days)
        lines.append(ScheduleLine(seq, period.start, period.due, part, interest))
        opening -= part
    return lines
