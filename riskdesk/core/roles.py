"""Roles are Django groups; these names are the whole vocabulary."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from riskdesk.core.errors import NotPermitted

ADMIN = "admin"
RISK_OFFICER = "risk_officer"
SUPERVISOR = "collections_supervisor"
COLLECTOR = "collector"
ALL_ROLES = (ADMIN, RISK_OFFICER, SUPERVISOR, COLLECTOR)
# An outside agency's user: sees only the cases placed with their agency, masked.
# Not a staff role, so it reads nothing else of the book.
AGENCY = "agency"

# Who works collection cases, and who decides what needs a second pair of eyes
# (arrangements, field visits, assignments, agency, legal, write-off).
COLLECTIONS_STAFF = (COLLECTOR, SUPERVISOR, ADMIN)
COLLECTIONS_DECIDERS = (SUPERVISOR, ADMIN)

# Who may read a borrower's identity (national ID, phone numbers) unmasked.
PII_ROLES = frozenset({ADMIN, SUPERVISOR})


def roles_of(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_riskdesk_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached |= {ADMIN}
        user._riskdesk_roles = cached  # type: ignore[attr-defined]
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser | None, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def require_role(user: AbstractBaseUser | AnonymousUser | None, allowed: tuple[str, ...], action: str) -> None:
    """Refuse (403) a user holding none of `allowed`; services call it so no path skips it."""
    if not has_role(user, *allowed):
        raise NotPermitted("not_permitted", f"Your role may not {action}.")


def may_see_pii(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return bool(roles_of(user) & PII_ROLES)


def roles_context(request: HttpRequest) -> dict[str, object]:
    """Template context: the user's roles, for navigation by role."""
    roles = roles_of(getattr(request, "user", None))
    return {"user_roles": roles, "is_admin": ADMIN in roles}
