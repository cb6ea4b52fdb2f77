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
    "agency": _("agency"),
    # collections: stages, channels, purposes
    "early": _("early (M1)"),
    "mid": _("mid (M2–M3)"),
    "late": _("late (M4+)"),
    "write_off_review": _("write-off review"),
    "open": _("open"),
    "call": _("call"),
    "sms": _("SMS"),
    "email": _("email"),
    "push": _("app push"),
    "letter": _("letter"),
    "visit": _("visit"),
    "phone": _("phone"),
    "collect": _("collect"),
    "locate": _("locate"),
    "verified": _("verified"),
    "unverified": _("unverified"),
    "api": _("API"),
    "reminder": _("reminder"),
    "field_visit": _("field visit"),
    # collections: attempt outcomes
    "no_answer": _("no answer"),
    "busy": _("busy"),
    "voicemail": _("voicemail"),
    "right_party": _("right-party contact"),
    "third_party": _("third party reached"),
    "wrong_number": _("wrong number"),
    "disconnected": _("disconnected"),
    "promise_to_pay": _("promise to pay"),
    "refusal": _("refusal"),
    "dispute": _("dispute"),
    "cease_request": _("cease request"),
    "hardship_request": _("hardship request"),
    "sent": _("message sent"),
    "delivered": _("message delivered"),
    "visited": _("visit made"),
    "blocked": _("blocked"),
    # collections: restrictions, promises, arrangements, visits
    "opt_out": _("channel opt-out"),
    "cease": _("cease communication"),
    "blackout": _("blackout window"),
    "attorney": _("represented by an attorney"),
    "breathing_space": _("breathing space"),
    "vulnerable": _("vulnerable customer"),
    "kept": _("kept"),
    "broken": _("broken"),
    "requested": _("requested"),
    "approved": _("approved"),
    "rejected": _("rejected"),
    "completed": _("completed"),
    "cancelled": _("cancelled"),
    "extension": _("extension"),
    "reinstallment": _("re-installment"),
    "penalty_waiver": _("penalty waiver"),
    # collections: the compliance gate's rules
    "not_permitted_party": _("not a permitted party"),
    "contact_point_dead": _("number dead or wrong"),
    "emergency_contact_objected": _("emergency contact objected"),
    "emergency_contact_consent": _("no consent from the emergency contact"),
    "third_party_debt": _("no debt talk with third parties"),
    "borrower_reachable": _("borrower still reachable"),
    "third_party_once": _("third party already contacted"),
    "third_party_template": _("template not fit for third parties"),
    "dispute_pause": _("paused: open dispute"),
    "arrangement_pause": _("paused: arrangement in force"),
    "template_not_approved": _("template not approved"),
    "field_visits_allowed": _("field visits not allowed"),
    "field_visit_vulnerable": _("no field visit to a vulnerable customer"),
    "field_visit_threshold": _("under the field-visit threshold"),
    "field_visit_approved": _("field visit not approved"),
    "field_visit_staff": _("too few staff for a field visit"),
    "quiet_hours": _("quiet hours"),
    "unanswered_dials": _("unanswered dials per day"),
    "conversations_per_day": _("conversations per day"),
    "calls_per_7_days": _("calls in 7 days"),
    "conversation_cooldown": _("cooldown after a conversation"),
}


def label(code: str) -> Any:
    """The desk's words for a stored code; an unknown code shows as it is."""
    return VOCABULARY.get(code, code)
