"""The monthly credit-bureau export (DESIGN.md "Bureau reporting").

An account is reportable at a month end when its loan-level snapshot (close of day
step 2) shows it past grace and more than the grace policy's `bureau_report_after_days`
past due, owing more than the arrears tolerance, and the borrower was sent the bureau
prior notice (a reminder step) at least the contact policy's `bureau_notice_days`
before the month end. The file holds no timestamp, so regenerating a month yields the
same bytes.

Negative data outlives the delinquency for five years and no more (Regulation on Credit
Reporting, art. 16: a negative record is kept five years from the day the default ends).
So a loan that was reported and then cured stays in the file, status `cured`, with the
worst status it was reported with and its cure date, while the cure is less than five
years before the month end; from five years after the cure it leaves the file. A loan's
cure date is the day it came back to DPD 0: its bucket history's move to the current
bucket (the one starting at 0 days), or the day it was paid off. A reported month counts
towards the loan's negative history through the first cure after it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from riskdesk.collections import gate
from riskdesk.collections.models import BureauExport, Reminder, ReminderStep
from riskdesk.core.audit import audit_record, user_or_none
from riskdesk.core.dates import add_months, is_month_end
from riskdesk.core.errors import DomainError
from riskdesk.lending.grace_rules import bureau_over_threshold
from riskdesk.lending.models import Bucket, BucketHistory, Installment, Loan, LoanMonthSnapshot
from riskdesk.lending.selectors import GraceBook

COLUMNS = (
    "account",
    "national_id",
    "status",
    "dpd",
    "overdue_amount",
    "outstanding_principal",
    "month_end",
    "worst_status",
    "cured_on",
)
CURED = "cured"
# Negative data leaves the file this many months after the cure (five years).
NEGATIVE_DATA_MONTHS = 60


def bureau_reportable_accounts(month_end: date) -> list[dict[str, Any]]:
    """The accounts to report for `month_end`, by loan id, with the export's columns.

    Those reportable now, and those reported before and cured less than five years ago.
    """
    snapshots = list(
        LoanMonthSnapshot.objects.filter(month_end=month_end, dpd__gt=0)
        .select_related("loan__borrower")
        .order_by("loan_id")
    )
    rows = {s.loan_id: _row(s) for s in _reportable(month_end, snapshots)}
    behind_now = {s.loan_id for s in snapshots}
    rows.update(_cured_rows(month_end, behind_now))
    return [rows[loan_id] for loan_id in sorted(rows)]


def _reportable(month_end: date, snapshots: list[LoanMonthSnapshot]) -> list[LoanMonthSnapshot]:
    """Those of `month_end`'s delinquent snapshots the bureau rules report."""
    books: dict[int, GraceBook] = {}
    over_threshold = [s for s in snapshots if _over_threshold(s, books)]
    past_grace = _past_grace(over_threshold)
    noticed = _noticed_by(month_end, [s.loan_id for s in past_grace])
    return [s for s in past_grace if s.loan_id in noticed]


def cure_dates(loan_ids: set[int] | None, first: date, last: date) -> dict[int, list[date]]:
    """Each loan's cure dates from `first` to `last`: back to the current bucket, or paid off."""
    current = Bucket.objects.filter(min_dpd=0).values_list("code", flat=True).first() or "M0"
    moves = BucketHistory.objects.filter(to_bucket=current, on__range=(first, last))
    payoffs = Loan.objects.filter(paid_off_on__range=(first, last))
    if loan_ids is not None:
        moves, payoffs = moves.filter(loan_id__in=loan_ids), payoffs.filter(pk__in=loan_ids)
    cures: dict[int, set[date]] = {}
    for loan_id, on in [*moves.values_list("loan_id", "on"), *payoffs.values_list("pk", "paid_off_on")]:
        cures.setdefault(loan_id, set()).add(on)
    return {loan_id: sorted(days) for loan_id, days in cures.items()}


def _cured_rows(month_end: date, behind_now: set[int]) -> dict[int, dict[str, Any]]:
    """Loans cured in the five years up to `month_end` whose reported months led to that cure.

    A loan behind again at the month end is left to the rules above: it is reported when
    they report it, and never as cured.
    """
    window_start = add_months(month_end, -NEGATIVE_DATA_MONTHS)
    recent = cure_dates(None, window_start + timedelta(days=1), month_end)
    candidates = set(recent) - behind_now
    if not candidates:
        return {}
    cures = cure_dates(candidates, date.min, month_end)
    reported: dict[int, list[LoanMonthSnapshot]] = {}
    earlier = (
        LoanMonthSnapshot.objects.filter(loan_id__in=candidates, month_end__lt=month_end, dpd__gt=0)
        .select_related("loan__borrower")
        .order_by("month_end", "loan_id")
    )
    by_month: dict[date, list[LoanMonthSnapshot]] = {}
    for snapshot in earlier:
        by_month.setdefault(snapshot.month_end, []).append(snapshot)
    for month, snapshots in by_month.items():
        for snapshot in _reportable(month, snapshots):
            cured_on = next((day for day in cures[snapshot.loan_id] if day > month), None)
            if cured_on is not None and cured_on > window_start:
                reported.setdefault(snapshot.loan_id, []).append(snapshot)
    outstanding = dict(
        LoanMonthSnapshot.objects.filter(month_end=month_end, loan_id__in=reported).values_list(
            "loan_id", "outstanding_principal"
        )
    )
    rows = {}
    for loan_id, snapshots in reported.items():
        worst = max(snapshots, key=lambda s: (s.dpd, s.month_end))
        last_month = max(s.month_end for s in snapshots)
        rows[loan_id] = {
            "account": loan_id,
            "national_id": worst.loan.borrower.national_id,
            "status": CURED,
            "dpd": 0,
            "overdue_amount": Decimal("0.00"),
            "outstanding_principal": outstanding.get(loan_id, Decimal("0.00")),
            "month_end": month_end,
            "worst_status": worst.bucket,
            "cured_on": next(day for day in cures[loan_id] if day > last_month),
        }
    return rows


def _over_threshold(snapshot: LoanMonthSnapshot, books: dict[int, GraceBook]) -> bool:
    product_id = snapshot.loan.product_id
    book = books.get(product_id) or books.setdefault(product_id, GraceBook(product_id))
    # The rule the grace-policy preview counts with too.
    return bureau_over_threshold(
        book.policy_on(snapshot.month_end), dpd=snapshot.dpd, overdue_amount=snapshot.overdue_amount
    )


def _past_grace(snapshots: list[LoanMonthSnapshot]) -> list[LoanMonthSnapshot]:
    """Those whose oldest delinquent installment (due `dpd` days before) ended its grace.

    A loan whose installment cannot be found (its schedule was rearranged since) is left
    out: a negative report must be provably right.
    """
    oldest_due = {s.loan_id: s.month_end - timedelta(days=s.dpd) for s in snapshots}
    grace_ends = {
        loan_id: grace_end
        for loan_id, due, grace_end in Installment.objects.filter(
            loan_id__in=oldest_due, due_date__in=set(oldest_due.values())
        ).values_list("loan_id", "due_date", "grace_end")
        if oldest_due[loan_id] == due
    }
    return [s for s in snapshots if s.loan_id in grace_ends and grace_ends[s.loan_id] < s.month_end]


def _noticed_by(month_end: date, loan_ids: list[int]) -> set[int]:
    """Loans whose bureau prior notice was sent at least the policy's notice days before."""
    end_of_day = timezone.make_aware(datetime.combine(month_end, time.max))
    latest = month_end - timedelta(days=gate.policy_rule_at(end_of_day, "bureau_notice_days"))
    sent = Reminder.objects.filter(
        loan_id__in=loan_ids, step__kind=ReminderStep.Kind.BUREAU_NOTICE, status=Reminder.Status.SENT
    ).values_list("loan_id", "sent_at")
    return {loan_id for loan_id, sent_at in sent if sent_at and timezone.localdate(sent_at) <= latest}


def _row(snapshot: LoanMonthSnapshot) -> dict[str, Any]:
    return {
        "account": snapshot.loan_id,
        "national_id": snapshot.loan.borrower.national_id,
        "status": snapshot.bucket,
        "dpd": snapshot.dpd,
        "overdue_amount": snapshot.overdue_amount,
        "outstanding_principal": snapshot.outstanding_principal,
        "month_end": snapshot.month_end,
        "worst_status": snapshot.bucket,
        "cured_on": None,
    }


def bureau_csv(rows: list[dict[str, Any]]) -> str:
    """The export file: a header and one line per account, '\\n' line endings, no timestamp."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(_cell(row[column]) for column in COLUMNS)
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@transaction.atomic
def bureau_export_generate(*, month_end: date, actor: AbstractBaseUser | AnonymousUser | None = None) -> BureauExport:
    """Write (or rewrite) the month's export from its loan-level snapshot."""
    if not is_month_end(month_end):
        raise DomainError("not_month_end", f"{month_end} is not the last day of a month.", field="month_end")
    if not LoanMonthSnapshot.objects.filter(month_end=month_end).exists():
        raise DomainError(
            "no_month_snapshot", f"No loan snapshot exists for {month_end}: close that day first.", field="month_end"
        )
    rows = bureau_reportable_accounts(month_end)
    content = bureau_csv(rows)
    digest = hashlib.sha256(content.encode()).hexdigest()
    previous = BureauExport.objects.filter(month_end=month_end).values("sha256", "accounts").first()
    export, _ = BureauExport.objects.update_or_create(
        month_end=month_end,
        defaults={
            "content": content,
            "sha256": digest,
            "accounts": len(rows),
            "generated_by": user_or_none(actor),
        },
    )
    audit_record(
        actor=actor,
        action="bureau_export.generate",
        entity=export,
        before=previous,
        after={"sha256": digest, "accounts": len(rows)},
    )
    return export
