"""Template helpers of the web desk: money, masked PII, and the desk's vocabulary."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from riskdesk.core import masking
from riskdesk.core.roles import may_see_pii
from riskdesk.core.vocabulary import label

register = template.Library()

BADGE_TONES = {
    "overdue": "bad",
    "failed": "bad",
    "frozen": "bad",
    "reversed": "muted",
    "in_grace": "warn",
    "due": "warn",
    "running": "warn",
    "partly_paid": "warn",
    "paid": "good",
    "done": "good",
    "paid_off": "good",
    "active": "info",
    "posted": "info",
    "current": "good",
}


@register.filter
def vocab(code: str) -> Any:
    """The desk's words for a stored code; an unknown code shows as it is."""
    return label(code)


@register.filter
def money(value: Decimal | None) -> str:
    """12,345.60 — exact (no float), two places, thousands grouped."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.2f}"


@register.filter
def percent(rate: Decimal | None, places: int = 4) -> str:
    """A daily rate as a percentage: 0.000675 -> 0.0675%."""
    if rate is None:
        return "—"
    return f"{Decimal(rate) * 100:.{places}f}%"


@register.filter
def badge_tone(code: str) -> str:
    return BADGE_TONES.get(code, "neutral")


@register.filter
def bucket_tone(code: str) -> str:
    """M0 is current; M1 early; M2-M3 mid; M4 and worse late."""
    if code in ("", "M0"):
        return "good"
    digits = "".join(ch for ch in code if ch.isdigit())
    severity = int(digits) if digits else 9
    return "warn" if severity <= 1 else ("bad" if severity <= 3 else "severe")


@register.simple_tag(takes_context=True)
def pii(context: template.Context, value: str, kind: str) -> str:
    """The value itself for a role that may see PII, else its masked form."""
    if not value:
        return ""
    user = context.get("request").user if context.get("request") else None
    if may_see_pii(user):
        return value
    return masking.mask(kind, value)


@register.filter
def progress_pct(run: Any) -> int:
    return round(run.progress * 100)


@register.filter
def duration(milliseconds: int | None) -> str:
    """A job's duration for a reader: 850 ms, 12.3 s, 4 min 05 s, 1 h 02 min (static/js/operations.js agrees)."""
    if milliseconds is None or milliseconds == "":
        return "—"
    ms = int(milliseconds)
    if ms < 1000:
        return f"{ms} ms"
    if ms < 59_950:
        return f"{ms / 1000:.1f} s"
    seconds = round(ms / 1000)
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
