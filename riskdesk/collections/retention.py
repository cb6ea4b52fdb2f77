"""The purges of collections' records, and close of day's retention step ("core.retention").

Contact attempts older than their period are deleted; call-recording references older
than theirs are blanked (the attempt stays until its own period ends). Neither touches
what an open matter still needs: the attempts of an open case, and of a borrower with an
open dispute or an open complaint, stay until the matter closes, whatever their age.

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

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from riskdesk.collections.models import Case, Complaint, ContactAttempt, Dispute, FieldVisit, Promise, Reminder
from riskdesk.core import retention
from riskdesk.core.jobs import RowCounts, Step
from riskdesk.core.retention import Kind, Purge, register_purge

STEP_NAME = "core.retention"


def expired_attempts(before: datetime) -> QuerySet[ContactAttempt]:
    """Attempts dated before `before` that no open case, dispute or complaint still needs."""
    open_dispute = Dispute.objects.filter(borrower=OuterRef("borrower"), resolved_at__isnull=True)
    open_complaint = Complaint.objects.filter(borrower=OuterRef("borrower"), status=Complaint.Status.OPEN)
    return (
        ContactAttempt.objects.filter(at__lt=before)
        .exclude(case__status=Case.Status.OPEN)
        .exclude(Exists(open_dispute))
        .exclude(Exists(open_complaint))
    )


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


# -- the step ----------------------------------------------------------------------------


def retention_parts(_: date) -> list[tuple[int, int]]:
    """One chunk per kind, by its index in PURGE_ORDER."""
    return [(k, k) for k in range(len(retention.PURGE_ORDER))]


def retention_part_run(day: date, lo: int, _hi: int) -> RowCounts:
    kind = retention.PURGE_ORDER[lo]
    return {f"{kind}_purged": retention.retention_purge(kind=kind, day=day)}


RETENTION_STEP = Step(STEP_NAME, retention_parts, retention_part_run)
