"""The nightly chain: close business days in order, each step a recorded job run.

The project package composes it because each app's steps may read the apps below
it (DESIGN.md: core <- lending <- collections <- riskmodels <- dashboards <- project).
Steps 1-2 are lending's, 3 scores the book (riskmodels.scoring: the champion's band and PD
onto the loans, which step 4, collections.cases, then routes and prioritises by), 5 plans
the reminders, and 6 (dashboards.aggregates) turns the day's book and collections facts into
the tables the dashboard pages read. 7, core.retention (defined by collections, which sees
its records and core's audit log), purges what is past its period once the dashboards have
counted it. The last, lending.audit_book, checks that the book
conserves money (lending/conservation.py); a breach fails it, so the day is not closed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from riskdesk.collections import reminders
from riskdesk.collections.cases import CASES_STEP
from riskdesk.collections.retention import RETENTION_STEP
from riskdesk.core.dates import business_today, date_range
from riskdesk.core.errors import DomainError
from riskdesk.core.jobs import Step, last_closed_day, step_run
from riskdesk.core.models import ClosedDay, JobRun
from riskdesk.dashboards.aggregates import AGGREGATES_STEP
from riskdesk.lending import closeday as lending_closeday
from riskdesk.lending.conservation import AUDIT_BOOK_STEP
from riskdesk.lending.models import Loan
from riskdesk.riskmodels.scoring import SCORING_STEP

STEPS: list[Step] = [
    *lending_closeday.STEPS,
    SCORING_STEP,
    CASES_STEP,
    reminders.REMINDERS_STEP,
    AGGREGATES_STEP,
    RETENTION_STEP,
    AUDIT_BOOK_STEP,
]


def days_to_close(as_of: date) -> list[date]:
    """Every business day after the last closed one, up to `as_of`; none is ever skipped."""
    last = last_closed_day()
    if last is None:
        first_loan = Loan.objects.order_by("disbursed_on").values_list("disbursed_on", flat=True).first()
        first = first_loan or as_of
    else:
        first = last + timedelta(days=1)
    return date_range(first, as_of) if first <= as_of else []


def closable(as_of: date | None) -> date:
    """The day to close up to: `as_of` (default yesterday), refused unless it is over."""
    today = business_today()
    as_of = as_of or today - timedelta(days=1)
    if as_of >= today:
        raise DomainError(
            "day_not_over",
            f"{as_of} is not over yet; the latest day that can close is {today - timedelta(days=1)}.",
            field="as_of",
        )
    return as_of


def close_days(*, as_of: date | None = None, on_day: Callable[[date, list[JobRun]], None] | None = None) -> list[date]:
    """Close every open business day up to `as_of` (default: yesterday), in order."""
    days = days_to_close(closable(as_of))
    for day in days:
        runs = [step_run(step, day) for step in STEPS]
        ClosedDay.objects.get_or_create(business_date=day)
        if on_day:
            on_day(day, runs)
    return days
