"""API permissions by role (riskdesk.core.roles): roles are groups, checked per request."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from riskdesk.core.roles import ALL_ROLES, has_role


class HasRole(BasePermission):
    """Allow users holding one of `roles`; reads (GET, HEAD, OPTIONS) also to `read` roles.

    Used as an instance, `permission_classes = [HasRole(ADMIN, read=ALL_ROLES)]`: DRF
    instantiates each entry, so the instance returns itself when called. A user without
    a role is refused with 403; an anonymous one gets 401 from DRF.
    """

    def __init__(self, *roles: str, read: tuple[str, ...] = ()) -> None:
        self.roles = frozenset(roles)
        self.read_roles = self.roles | frozenset(read)

    def __call__(self) -> HasRole:
        return self

    def has_permission(self, request: Request, view: Any) -> bool:
        allowed = self.read_roles if request.method in SAFE_METHODS else self.roles
        return has_role(request.user, *allowed)

    def __repr__(self) -> str:
        return f"HasRole({', '.join(sorted(self.roles))}; read: {', '.join(sorted(self.read_roles))})"


# Every role of the desk: staff who may read the book.
IsStaff = HasRole(*ALL_ROLES)
