"""Template helpers for a loan's risk on pages that other apps own.

The loan page (lending) and the case page (collections) are drawn by apps that may not
import riskmodels (DESIGN.md: imports run core <- lending <- collections <- riskmodels).
Their templates load this library instead, the way a plugin adds a panel: lending's
Python stays ignorant of scoring, and the scorecard's view of a loan comes from
riskmodels.loan_risk. Money, percentages and the desk's words are desk's filters
(core/templatetags/desk.py): load both libraries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import gettext as _

from riskdesk.core.templatetags.desk import money, percent
from riskdesk.core.vocabulary import label
from riskdesk.lending.models import CreditLineEvent, Loan
from riskdesk.riskmodels import loan_risk as risk

register = template.Library()

# Features whose value is a share (shown as a percentage) or an amount of money.
SHARES = {"utilisation", "paid_due_ratio_3m"}
AMOUNTS = {"outstanding_principal"}
WORDS = {"segment"}


@register.simple_tag
def loan_risk(loan: Loan) -> risk.LoanRisk | None:
    """{% loan_risk loan as risk %}: band, PD, score, reasons in words and the model that scored it."""
    return risk.loan_risk(loan)


@register.simple_tag
def limit_cuts(events: list[CreditLineEvent]) -> dict[int, risk.LimitCut]:
    """{% limit_cuts events as cuts %}: each risk_band_downgrade cut's band change and policy, by event id.

    One query for the whole line history; the template reads a cut with cuts|get_item:event.pk.
    """
    return risk.limit_cuts(events)


@register.filter
def reason_codes(loan: Loan) -> list[str]:
    """A loan's reason codes, worst first: {% for code in loan|reason_codes %}{{ code|vocab }}."""
    return risk.reason_codes(loan)


@register.filter
def reason_value(value: Any, code: str) -> str:
    """A feature's value as the desk reads it: 85%, 12,000.00, 45, "up to 30 days past due"."""
    if value is None or value == "":
        return _("none on record")
    if code in WORDS:
        return str(label(str(value)))
    if isinstance(value, str):
        return value
    number = float(value)
    if code in SHARES:
        return percent(Decimal(str(value)), 0)
    if code in AMOUNTS:
        return money(Decimal(str(value)))
    return f"{number:.0f}" if number.is_integer() else f"{number:.2f}"


@register.filter
def ratio(value: float | None, places: int = 3) -> str:
    """AUC, KS, Gini or PSI with `places` decimals; — when not computed (a sample without bads)."""
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{float(value):.{places}f}"


@register.filter
def alert_tone(alert: str) -> str:
    return {"ok": "good", "watch": "warn", "act": "bad"}.get(alert, "neutral")


@register.filter
def status_tone(status: str) -> str:
    return {"champion": "good", "challenger": "info", "retired": "muted"}.get(status, "neutral")


@register.filter
def alert_words(alert: str) -> str:
    return {"ok": _("stable"), "watch": _("watch"), "act": _("act")}.get(alert, alert)


@register.filter
def status_words(status: str) -> str:
    return {"champion": _("champion"), "challenger": _("challenger"), "retired": _("retired")}.get(status, status)


@register.filter
def get_item(mapping: dict[Any, Any] | None, key: Any) -> Any:
    """mapping[key] in a template (None when absent); JSON keys are strings, so try str(key) too."""
    if not mapping:
        return None
    return mapping.get(key, mapping.get(str(key)))
