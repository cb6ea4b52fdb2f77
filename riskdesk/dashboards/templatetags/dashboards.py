"""Template helpers of the dashboard pages."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def share(value: Decimal | float | None, places: int = 2) -> str:
    """A share as a percentage (0.0123 -> 1.23%); — when there is none (no loans to divide by)."""
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{Decimal(str(value)) * 100:.{places}f}%"


@register.filter
def month(value: object) -> str:
    """An origination month (a date, its first day) as YYYY-MM."""
    return value.strftime("%Y-%m") if hasattr(value, "strftime") else "—"


@register.filter
def thousands(value: int | None) -> str:
    """A count with thousands grouped: 52272 -> 52,272."""
    return "—" if value is None else f"{int(value):,}"
