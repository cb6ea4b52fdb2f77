"""The monthly credit-bureau export (DESIGN.md "Bureau reporting").

An account is reportable at a month end when its loan-level snapshot (close of day
step 2) shows it past grace and more than the grace policy's `bureau_report_after_days`
past due, owing more than the arrears tolerance, and the borrower was sent the bureau
prior notice (a reminder step) at least the contact policy's `bureau_notice_days`
before the month end. The file holds no timestamp, so regenerating a month yields the
same bytes.
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
from riskdesk.core.dates import is_month_end
from riskdesk.core.errors import DomainError
from riskdesk.lending.grace_rules import bureau_over_threshold
from riskdesk.lending.models import Installment, LoanMonthSnapshot
from riskdesk.lending.selectors import GraceBook

COLUMNS = ("account", "national_id", "status", "dpd", "overdue_amount", "outstanding_principal", "month_end")


def bureau_reportable_accounts(month_end: date) -> list[dict[str, Any]]:
    """The accounts to report for `month_end`, by loan id, with the export's columns."""
    snapshots = list(
        LoanMonthSnapshot.objects.filter(month_end=month_end, dpd__gt=0)
        .select_related("loan__borrower")
        .order_by("loan_id")
    )
    books: dict[int, GraceBook] = {}
    over_threshold = [s for s in snapshots if _over_threshold(s, books)]
    past_grace = _past_grace(over_threshold)
    noticed = _noticed_by(month_end, [s.loan_id for s in past_grace])
    return [_row(s) for s in past_grace if s.loan_id in noticed]


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
