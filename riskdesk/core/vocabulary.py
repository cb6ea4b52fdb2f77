"""The desk's words for the codes stored in the book, translatable.

Models keep their English choice labels; the pages show these.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

VOCABULARY = {
    # loans and installments
    "active": _("active"),
    "paid_off": _("paid off"),
    "written_off": _("written off"),
    "paid": _("paid"),
    "in_grace": _("in grace"),
    "overdue": _("overdue"),
    "due": _("due"),
    "partly_paid": _("partly paid"),
    "scheduled": _("scheduled"),
    "current": _("current"),
    # payments
    "regular": _("regular"),
    "prepayment": _("prepayment"),
    "payoff": _("payoff"),
    "posted": _("posted"),
    "reversed": _("reversed"),
    "autodebit": _("autodebit"),
    "app": _("app"),
    "bank_transfer": _("bank transfer"),
    "counter": _("counter"),
    # autodebit failures
    "insufficient_funds": _("insufficient funds"),
    "bank_error": _("bank error"),
    "lender_outage": _("lender outage"),
    "card_expired": _("card expired"),
    "mandate_revoked": _("mandate revoked"),
    # credit lines
    "frozen": _("frozen"),
    "closed": _("closed"),
    "loan_overdue": _("a loan is overdue"),
    "cooling_off": _("cooling-off after cure"),
    "manual": _("frozen by the desk"),
    "opened": _("opened"),
    "freeze": _("freeze"),
    "unfreeze": _("unfreeze"),
    "limit_change": _("limit change"),
    "cooling_off_ended": _("cooling-off ended"),
    "cured": _("overdue loans repaid"),
    # repayment methods
    "equal_installment": _("equal installment"),
    "equal_principal": _("equal principal"),
    "interest_first": _("interest first"),
    "bullet": _("bullet"),
    # job runs
    "pending": _("pending"),
    "running": _("running"),
    "done": _("done"),
    "failed": _("failed"),
    # roles
    "admin": _("admin"),
    "risk_officer": _("risk officer"),
    "collections_supervisor": _("collections supervisor"),
    "collector": _("collector"),
}


def label(code: str) -> Any:
    """The desk's words for a stored code; an unknown code shows as it is."""
    return VOCABULARY.get(code, code)
