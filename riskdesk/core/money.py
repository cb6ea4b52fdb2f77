"""Money: Decimal yuan with two places, rounded half-up, never float.

No Django models here: this module is pure arithmetic, tested without a database.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize_money(amount: Decimal) -> Decimal:
    """Round an amount to the cent, half-up (0.005 -> 0.01); every stored amount passes here."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def annual_rate(daily_rate: Decimal) -> Decimal:
    """The nominal annual rate for display only: daily x 365 (never the other way round)."""
    return daily_rate * 365
