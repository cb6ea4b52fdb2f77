"""The purges of collections' records, the audit rows a borrower's relationship holds, and
close of day's retention step ("core.retention").

Contact attempts are evidence of how a debt was collected, kept N years after the LAST
collection activity with the borrower (12 CFR 1006.100: three years after the last
collection activity on the debt; the Civil Code's limitation period runs from the last
claim): a borrower's attempts go together, once every attempt, case opening or closing,
promise, payment during a case, dispute, complaint, field visit, arrangement and agency
placement of theirs is older than the cutoff and nothing of theirs is still open (a case,
a dispute, a complaint). Call-recording references are blanked by the same rule with their
own period; the attempt stays until its own period ends.

The audit log's five years run from the end of the business relationship (the Anti-Money
Laundering Law: five years after the business ends), so the rows about a borrower and
their records (lines, loans, payments, cases, attempts ...) stay while the relationship
lasts: any loan active, any line not closed, any collection activity above, or anything
about them recorded since the cutoff (a paid-off date, a payment, a line event, an audit
row: the end of the relationship is no later than the last thing recorded about it). This
module maps both lending's and collections' audited records to their borrower, since
collections is the app that sees both (DESIGN.md: core <- lending <- collections).

The dashboards' collections and compliance tables are aggregates already counted: the
nightly recount goes back DASHBOARDS_RECOUNT_DAYS (a week), the shortest period years,
so a purged day is never recounted by close of day.

The step runs after the dashboards' (riskdesk.nightly), one chunk per kind in the order
of riskdesk.core.retention.PURGE_ORDER; each chunk's purge commits with the chunk, so a
crash purges nothing of the kind in flight and the rerun finishes it. Row counts go into
the job run as `<kind>_purged`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import CharField, Exists, F, Model, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone

from riskdesk.collections.models import (
    AgencyPlacement,
    Arrangement,
    Case,
    Complaint,
    ContactAttempt,
    ContactRestriction,
    Dispute,
    FieldVisit,
    OutboxMessage,
    Promise,
    QuietHoursConsent,
    Reminder,
)
from riskdesk.core import retention
from riskdesk.core.jobs import RowCounts, Step
from riskdesk.core.models import AuditLog
from riskdesk.core.retention import Kind, Purge, register_audit_hold, register_purge
from riskdesk.lending.models import (
    AutodebitFailure,
    Borrower,
    ContactPoint,
    CreditLine,
    CreditLineEvent,
    EmergencyContact,
    Loan,
    LoanArrangement,
    Payment,
)

STEP_NAME = "core.retention"


def collection_activity(borrower: OuterRef, before: datetime) -> list[QuerySet[Any]]:
    """A borrower's collection activity dated on or after `before`, or still open.

    Each queryset is correlated on `borrower` (a reference to a borrower id); the borrower
    is still being collected while any of them has a row.
    """
    day = timezone.localdate(before)  # a date on the cutoff's day counts as newer: kept
    return [
        ContactAttempt.objects.filter(borrower=borrower, at__gte=before),
        Case.objects.filter(borrower=borrower).filter(
            Q(status=Case.Status.OPEN) | Q(opened_on__gte=day) | Q(updated_on__gte=day) | Q(closed_on__gte=day)
        ),
        Promise.objects.filter(case__borrower=borrower).filter(Q(made_on__gte=day) | Q(decided_on__gte=day)),
        # A payment while the borrower was in collection: on or after a case's opening.
        Payment.objects.filter(
            loan__borrower=borrower, value_date__gte=day, loan__borrower__cases__opened_on__lte=F("value_date")
        ),
        Dispute.objects.filter(borrower=borrower).filter(
            Q(resolved_at__isnull=True) | Q(opened_at__gte=before) | Q(resolved_at__gte=before)
        ),
        Complaint.objects.filter(borrower=borrower).filter(
            Q(status=Complaint.Status.OPEN) | Q(received_at__gte=before) | Q(resolved_at__gte=before)
        ),
        FieldVisit.objects.filter(case__borrower=borrower).filter(
            Q(planned_at__gte=before) | Q(decided_at__gte=before)
        ),
        Arrangement.objects.filter(case__borrower=borrower).filter(
            Q(requested_at__gte=before) | Q(decided_at__gte=before) | Q(broken_on__gte=day)
        ),
        AgencyPlacement.objects.filter(case__borrower=borrower).filter(
            Q(recalled_on__isnull=True) | Q(placed_on__gte=day) | Q(recalled_on__gte=day)
        ),
    ]


def expired_attempts(before: datetime) -> QuerySet[ContactAttempt]:
    """The attempts of borrowers whose every collection activity is dated before `before`."""
    expired = ContactAttempt.objects.filter(at__lt=before)
    for activity in collection_activity(OuterRef("borrower"), before):
        expired = expired.exclude(Exists(activity))
    return expired


def _attempts_count(before: datetime) -> int:
    return expired_attempts(before).count()


def _attempts_delete(before: datetime) -> int:
    """Delete the expired attempts; what pointed at one keeps its own record without the link.

    A promise, a reminder and a field visit outlive the attempt they came from (their
    own facts: amount and dates, the send, the visit's staff and outcome stay).
    """
    expired = expired_attempts(before).values("id")
    for model in (Promise, Reminder, FieldVisit):
        model.objects.filter(attempt__in=expired).update(attempt=None)
    # One set-based DELETE: nothing references an expired attempt any more, and the ORM's
    # collector would load every id into Python first.
    sql, params = expired_attempts(before).values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ContactAttempt._meta.db_table} WHERE id IN ({sql})", params)
        return cursor.rowcount


def _recordings(before: datetime) -> QuerySet[ContactAttempt]:
    return expired_attempts(before).exclude(recording_ref="")


def _recordings_count(before: datetime) -> int:
    return _recordings(before).count()


def _recordings_blank(before: datetime) -> int:
    return ContactAttempt.objects.filter(id__in=_recordings(before).values("id")).update(recording_ref="")


register_purge(Purge(Kind.CONTACT_ATTEMPTS, _attempts_count, _attempts_delete))
register_purge(Purge(Kind.RECORDING_REFERENCES, _recordings_count, _recordings_blank))


# -- the audit rows a borrower's relationship holds ---------------------------------------------

# Each audited record that belongs to a borrower, and the path from it to its borrower's id
# (the entity types audit_record writes: entity._meta.label_lower).
BORROWER_OF: tuple[tuple[type[Model], str], ...] = (
    (Borrower, "pk"),
    (ContactPoint, "borrower_id"),
    (EmergencyContact, "borrower_id"),
    (CreditLine, "borrower_id"),
    (Loan, "borrower_id"),
    (Payment, "loan__borrower_id"),
    (LoanArrangement, "loan__borrower_id"),
    (AutodebitFailure, "loan__borrower_id"),
    (Case, "borrower_id"),
    (ContactAttempt, "borrower_id"),
    (ContactRestriction, "borrower_id"),
    (QuietHoursConsent, "borrower_id"),
    (Dispute, "borrower_id"),
    (Complaint, "borrower_id"),
    (Arrangement, "case__borrower_id"),
    (FieldVisit, "case__borrower_id"),
    (Reminder, "borrower_id"),
    (OutboxMessage, "reminder__borrower_id"),
)


def _subjects() -> tuple[str, list[Any]]:
    """SQL of (entity_type, entity_id, borrower_id) for every audited record of a borrower."""
    parts, params = [], []
    for model, path in BORROWER_OF:
        # Aliases of their own: `borrower_id` is a field of most of these models.
        rows = model.objects.order_by().values(
            subject_type=Value(model._meta.label_lower, output_field=CharField()),
            subject_id=Cast("pk", output_field=CharField()),
            subject_borrower=F(path),
        )
        sql, part_params = rows.query.sql_with_params()
        parts.append(
            "SELECT subject_type AS entity_type, subject_id AS entity_id, subject_borrower AS borrower_id"
            f" FROM ({sql}) subject"
        )
        params += part_params
    return " UNION ALL ".join(parts), params


def relationship_live(before: datetime) -> QuerySet[Borrower]:
    """Borrowers whose relationship is not over, or ended on or after `before` by what is recorded.

    A written-off loan and a closed line carry no date of their own; the audit rows (the
    hold below) and the case's closing date bound when that happened.
    """
    day = timezone.localdate(before)
    borrower = OuterRef("pk")
    lending = [
        Loan.objects.filter(borrower=borrower).filter(Q(status=Loan.Status.ACTIVE) | Q(paid_off_on__gte=day)),
        CreditLine.objects.filter(borrower=borrower).exclude(status=CreditLine.Status.CLOSED),
        CreditLineEvent.objects.filter(credit_line__borrower=borrower, on__gte=day),
        Payment.objects.filter(loan__borrower=borrower).filter(Q(value_date__gte=day) | Q(reversed_at__gte=before)),
    ]
    live = Q(created_at__gte=before)
    for activity in lending + collection_activity(borrower, before):
        live |= Exists(activity)
    return Borrower.objects.filter(live)


def audit_rows_held(before: datetime) -> tuple[str, list[Any]]:
    """SQL of the (entity_type, entity_id) whose audit rows a live relationship holds at `before`."""
    subjects, subject_params = _subjects()
    live, live_params = relationship_live(before).values("pk").query.sql_with_params()
    audit = AuditLog._meta.db_table
    sql = (
        f"WITH subject AS ({subjects}),"
        f" held_borrower AS ({live}"
        f" UNION SELECT s.borrower_id FROM subject s JOIN {audit} recent"
        " ON recent.entity_type = s.entity_type AND recent.entity_id = s.entity_id WHERE recent.at >= %s)"
        " SELECT s.entity_type, s.entity_id FROM subject s WHERE s.borrower_id IN (SELECT * FROM held_borrower)"
    )
    return sql, [*subject_params, *live_params, before]


register_audit_hold("collections.borrower_relationship", audit_rows_held)


# -- the step ----------------------------------------------------------------------------


def retention_parts(_: date) -> list[tuple[int, int]]:
    """One chunk per kind, by its index in PURGE_ORDER."""
    return [(k, k) for k in range(len(retention.PURGE_ORDER))]


def retention_part_run(day: date, lo: int, _hi: int) -> RowCounts:
    kind = retention.PURGE_ORDER[lo]
    return {f"{kind}_purged": retention.retention_purge(kind=kind, day=day)}


RETENTION_STEP = Step(STEP_NAME, retention_parts, retention_part_run)
