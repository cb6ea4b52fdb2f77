"""Who may see which case: object-level permissions shared by the web desk and the API."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from riskdesk.collections.models import Case
from riskdesk.core import roles

# Risk officers read every case (read-only); supervisors and admins act on every case.
SEE_ALL_ROLES = (roles.ADMIN, roles.SUPERVISOR, roles.RISK_OFFICER)


def cases_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Case]:
    """Collector: cases assigned to them; agency user: open cases placed with their agency."""
    if roles.has_role(user, *SEE_ALL_ROLES):
        return Case.objects.all()
    if roles.has_role(user, roles.COLLECTOR):
        return Case.objects.filter(assigned_to=user)
    if roles.has_role(user, roles.AGENCY):
        return Case.objects.filter(status=Case.Status.OPEN, agency__in=user.agencies.all())
    return Case.objects.none()


def case_for(user: AbstractBaseUser | AnonymousUser, case_id: int) -> Case:
    """The case if `user` may see it; 403 for a staff role without it, 404 when it does not exist."""
    case = Case.objects.select_related("borrower", "queue", "assigned_to", "agency").filter(pk=case_id).first()
    if case is None:
        raise Http404
    if not cases_visible_to(user).filter(pk=case_id).exists():
        raise PermissionDenied
    return case
