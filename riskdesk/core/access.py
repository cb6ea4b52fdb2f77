"""Access by role: to the web desk's pages, and to a borrower's personal data unmasked."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from riskdesk.core.audit import Actor, audit_record
from riskdesk.core.errors import DomainError, NotFound
from riskdesk.core.roles import PII_ROLES, has_role, require_role

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
REVEAL_FIELD = re.compile(r"^(?:name|national_id|email|address|bank_card|point:\d{1,18}|contact:\d{1,18})$")


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
