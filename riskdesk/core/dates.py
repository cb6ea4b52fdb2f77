"""Business dates: the calendar date in the lender's time zone, and month arithmetic."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone


def business_today() -> date:
    """Today's business date: the calendar date in settings.TIME_ZONE.

    settings.BUSINESS_DATE_OVERRIDE (an ISO date) pins it, for tests and rehearsals.
    """
    override = getattr(settings, "BUSINESS_DATE_OVERRIDE", None)
    return date.fromisoformat(override) if override else timezone.localdate()


def add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to month end (Jan 31 + 1 -> Feb 28 or 29)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def is_month_end(day: date) -> bool:
    return day == month_end(day)


def date_range(first: date, last: date) -> list[date]:
    """Every date from first to last, both included."""
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]
