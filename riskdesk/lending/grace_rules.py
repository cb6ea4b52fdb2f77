"""The rules a grace policy version sets for collections, written once.

collections/bureau.py (the monthly bureau export), collections/cases.py (case opening, in
SQL) and the grace-policy preview (lending/grace_preview.py, which cannot import
collections) apply these; a change here changes all of them. Without a version in force,
each rule takes the GracePolicy field's own default.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from riskdesk.lending.models import GracePolicy

DEFAULT_REPORT_AFTER_DAYS: int = GracePolicy._meta.get_field("bureau_report_after_days").default
DEFAULT_TOLERANCE: Decimal = GracePolicy._meta.get_field("arrears_tolerance").default
DEFAULT_CASE_OPEN_AFTER_DAYS: int = GracePolicy._meta.get_field("case_open_after_days").default


def bureau_over_threshold(policy: GracePolicy | None, *, dpd: int, overdue_amount: Decimal) -> bool:
    """More than the policy's `bureau_report_after_days` past due and owing more than its arrears tolerance.

    `policy` is the version in force on the reporting day. The bureau also needs the loan
    past grace and the prior notice sent; those are its callers' to check.
    """
    after_days = policy.bureau_report_after_days if policy else DEFAULT_REPORT_AFTER_DAYS
    tolerance = policy.arrears_tolerance if policy else DEFAULT_TOLERANCE
    return dpd > after_days and overdue_amount > tolerance


def case_open_after_days(policy: GracePolicy | None) -> int:
    """Days after grace end a case opens; `policy` is the version in force on the loan's oldest overdue due date."""
    return policy.case_open_after_days if policy else DEFAULT_CASE_OPEN_AFTER_DAYS


def case_due(policy: GracePolicy | None, *, grace_end: date | None, on: date) -> bool:
    """Whether an active loan past due on `on` needs its borrower to have a case.

    collections/cases.py states the same in SQL (`_collect_facts`' past_open_day with
    `_open_after_days_sql`); tests hold the preview's count to the cases the night opens.
    """
    return grace_end is not None and (on - grace_end).days > case_open_after_days(policy)
