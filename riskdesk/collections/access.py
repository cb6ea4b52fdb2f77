"""Who may see and act on which case: object-level permissions shared by the web desk and the API."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from riskdesk.collections.models import AgencyPlacement, Case
from riskdesk.core import roles
from riskdesk.core.access import BookPart

# Risk officers read every case (read-only); supervisors and admins act on every case.
SEE_ALL_ROLES = (roles.ADMIN, roles.SUPERVISOR, roles.RISK_OFFICER)
ACT_ON_ALL_ROLES = (roles.ADMIN, roles.SUPERVISOR)


def placed_case_ids(user: AbstractBaseUser | AnonymousUser) -> QuerySet[AgencyPlacement]:
    """Ids of the cases actively placed with an agency `user` works for (a subquery)."""
    return AgencyPlacement.objects.filter(recalled_on__isnull=True, agency__users=user).values("case_id")


def cases_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Case]:
    """Collector: cases assigned to them; agency user: cases actively placed with their agency."""
    if roles.has_role(user, *SEE_ALL_ROLES):
        return Case.objects.all()
    if roles.has_role(user, roles.COLLECTOR):
        return Case.objects.filter(assigned_to=user)
    if roles.has_role(user, roles.AGENCY):
        # A subquery, not a join, so a case placed twice is not listed twice.
        return Case.objects.filter(pk__in=placed_case_ids(user))
    return Case.objects.none()


def case_for(user: AbstractBaseUser | AnonymousUser, case_id: int) -> Case:
    """The case if `user` may see it; 404 otherwise, so a case's existence is not disclosed."""
    case = (
        cases_visible_to(user).select_related("borrower", "queue", "assigned_to", "agency").filter(pk=case_id).first()
    )
    if case is None:
        raise Http404
    return case


def may_act_on_case(user: AbstractBaseUser | AnonymousUser, case: Case) -> bool:
    """Risk officers only read; collectors act on their own cases, agency users on placed ones."""
    if roles.has_role(user, *ACT_ON_ALL_ROLES):
        return True
    if roles.has_role(user, roles.COLLECTOR) and case.assigned_to_id == user.pk:
        return True
    if roles.has_role(user, roles.AGENCY):
        return placed_case_ids(user).filter(case_id=case.pk).exists()
    return False


def book_part_of(user: AbstractBaseUser | AnonymousUser) -> BookPart:
    """The borrowers and loans of the cases `user` sees: what a collector's work needs of the book.

    Registered with riskdesk.core.access at start-up, for lending's pages and API, which
    ask it of every role outside core.access.WHOLE_BOOK_ROLES.
    """
    cases = cases_visible_to(user)
    return BookPart(borrower_ids=cases.values("borrower_id"), loan_ids=cases.values("loans"))
