"""Access by role: to the web desk's pages, and to a borrower's personal data unmasked."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from riskdesk.core.audit import Actor, audit_record
from riskdesk.core.errors import DomainError, NotFound
from riskdesk.core.roles import ADMIN, PII_ROLES, RISK_OFFICER, SUPERVISOR, has_role, require_role

View = Callable[..., HttpResponse]


def role_required(*allowed: str) -> Callable[[View], View]:
    """Let in a signed-in user holding one of `allowed`; send others to login, or 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *allowed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(guarded)

    return decorate


# -- unmasking: one value, to a PII role, audited ------------------------------------------

# What a reveal may name: a borrower's own field, or one of their contact points
# ("point:<id>") or emergency contacts ("contact:<id>").
REVEALABLE = ("name", "national_id", "email", "address", "bank_card")
REVEAL_FIELD = re.compile(rf"^(?:{'|'.join(REVEALABLE)}|point:\d{{1,18}}|contact:\d{{1,18}})$")


REVEAL_ACTION = "see a borrower's personal data unmasked"


class NotRevealable(DomainError):
    status = 400


def unmasked_value(borrower: Any, field: str) -> str:
    """The borrower's `field` in full (REVEAL_FIELD); NotFound for a point or contact not theirs."""
    if field in REVEALABLE:
        return getattr(borrower, field)
    kind, _sep, pk = field.partition(":")
    if kind == "point" and pk.isdigit():
        point = borrower.contact_points.filter(pk=int(pk)).first()
        if point is not None:
            return point.value
    if kind == "contact" and pk.isdigit():
        contact = borrower.emergency_contacts.filter(pk=int(pk)).first()
        if contact is not None:
            return contact.phone
    raise NotFound("not_found", f"The borrower has no {field}.", field="field")


def pii_reveal(*, borrower: Any, field: str, reason: str, actor: Actor, case: Any = None) -> str:
    """Show one unmasked value to a role that may see PII (roles.PII_ROLES), and audit who, what and why.

    A refused reveal writes nothing; the audit row names the field, never the value.
    """
    require_role(actor, tuple(PII_ROLES), REVEAL_ACTION)
    if not REVEAL_FIELD.match(field):
        raise NotRevealable("unknown_field", f"{field!r} is not a field that can be revealed.", field="field")
    value = unmasked_value(borrower, field)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="pii.reveal",
            entity=borrower,
            after={"field": field, "case": case.pk if case is not None else None},
            reason=reason,
        )
    return value


def pii_reveal_answer(request: HttpRequest, *, borrower: Any, default_reason: str, case: Any = None) -> JsonResponse:
    """The desk pages' reveal (POST field, reason): the value as JSON, or the refusal in the API's error shape.

    The case page and the loan page both answer through here, so the page's script
    (static/js/case.js) reads one shape; the reason defaults to the page the value was shown on.
    """
    field = request.POST.get("field", "")
    reason = request.POST.get("reason", "").strip()[:200] or default_reason
    try:
        value = pii_reveal(borrower=borrower, field=field, reason=reason, actor=request.user, case=case)
    except DomainError as refusal:
        body = {"code": refusal.code, "message": refusal.message, "fields": refusal.fields}
        return JsonResponse({"error": body}, status=refusal.status)
    return JsonResponse({"field": field, "value": value})


# -- which part of the book a role reads ----------------------------------------------------

# Risk officers, supervisors and admins read the whole book; a collector only what their
# assigned cases need (DESIGN.md: "a collector gets only cases assigned to them"), and no
# other role anything of it.
WHOLE_BOOK_ROLES = (ADMIN, SUPERVISOR, RISK_OFFICER)


@dataclass(frozen=True)
class BookPart:
    """The borrowers and loans a user may read, as id subqueries (or lists) for `pk__in`."""

    borrower_ids: Any
    loan_ids: Any


NOTHING = BookPart(borrower_ids=[], loan_ids=[])
BookPartRule = Callable[[Any], BookPart]
_book_part_rules: list[BookPartRule] = []  # at most one


def book_part_rule_register(rule: BookPartRule) -> None:
    """Let an app say which part of the book a user outside WHOLE_BOOK_ROLES reads.

    Lending's pages and API ask book_part_visible_to; the answer for a collector is
    collections' (their cases), and lending may not import collections (DESIGN.md
    "Imports run one way"), so collections registers its rule at start-up
    (CollectionsConfig.ready). There is one rule: registering replaces it.
    """
    _book_part_rules[:] = [rule]


def book_part_visible_to(user: Any) -> BookPart | None:
    """None when `user` reads the whole book; else the part they may read (nothing without a rule: fail closed)."""
    if has_role(user, *WHOLE_BOOK_ROLES):
        return None
    if not _book_part_rules:
        return NOTHING
    return _book_part_rules[0](user)
