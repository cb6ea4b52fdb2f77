"""The book digest: one sha256 over everything the nights write, to compare two runs of them.

A night interrupted anywhere (a worker SIGKILLed, Redis or Postgres gone) and resumed
must leave the same book as an uninterrupted one; `book_digest()` says so in one line.

In: every table close of day and the reminder dispatcher write - loans, installments,
payments and allocations (a backdated replay rewrites them), credit lines and their
events, bucket history, portfolio and month-end snapshots, scores, band changes, limit
cuts, scoring nights, score distributions and monitors, cases with their loans, queue,
assignee, agency placements, promises and arrangements, reminders, contact attempts,
outbox messages, the dashboards' aggregate tables, job runs (status, chunk counts and row
counts), job chunks (range, done, row counts), closed days, and the audit log counted per
action and entity type.

Out: wall-clock stamps that differ run to run (created_at, closed_at, started_at,
finished_at, durations, a job run's attempts and last error, an attempt's `at`, a
reminder's claimed/sent/next-try times, an outbox row's status time, the audit's `at`),
and ids of rows the nights insert: a rolled-back chunk still consumes sequence values, so
those ids depend on where a night was interrupted. Such rows are identified by their
natural key instead (a case by borrower and opening day, a reminder by installment and
ladder step, a band change by loan and day). Ids of rows that exist before the night
(loans, installments, payments, borrowers, lines, models) stay in. The digest reads
the book as it stands; it changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Model

from riskdesk.collections import models as collections
from riskdesk.core import models as core
from riskdesk.dashboards import models as dashboards
from riskdesk.lending import models as lending
from riskdesk.riskmodels import models as riskmodels

# A night-inserted row, named by its natural key wherever another row points at it.
CASE = ("borrower_id", "opened_on")
REMINDER = ("installment_id", "step_id")
ATTEMPT = ("case_id", "borrower_id", "channel", "contact_point_id", "purpose", "source", "allowed", "rule", "outcome")


def _via(relation: str, key: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{relation}__{field}" for field in key)


@dataclass(frozen=True)
class Table:
    """One table's part of the digest: the ORM paths of the columns it covers."""

    name: str
    model: type[Model]
    columns: tuple[str, ...]


def _columns(
    model: type[Model], *, drop: Iterable[str] = (), swap: dict[str, tuple[str, ...]] | None = None
) -> tuple[str, ...]:
    """Every concrete column of `model` but `drop`; a column in `swap` becomes its natural-key paths."""
    swap, drop = swap or {}, set(drop)
    columns: list[str] = []
    for field in model._meta.concrete_fields:
        if field.attname in drop:
            continue
        columns.extend(swap.get(field.attname, (field.attname,)))
    return tuple(columns)


NIGHT_ID = ("id",)
TABLES: list[Table] = [
    # lending: rows that exist before the night keep their ids.
    Table("lending.loan", lending.Loan, _columns(lending.Loan, drop=["created_at"])),
    Table("lending.installment", lending.Installment, _columns(lending.Installment)),
    Table("lending.payment", lending.Payment, _columns(lending.Payment, drop=["created_at", "reversed_at"])),
    Table("lending.allocation", lending.Allocation, _columns(lending.Allocation, drop=NIGHT_ID)),
    Table("lending.creditline", lending.CreditLine, _columns(lending.CreditLine, drop=["created_at"])),
    Table("lending.creditlineevent", lending.CreditLineEvent, _columns(lending.CreditLineEvent, drop=["id", "at"])),
    Table("lending.buckethistory", lending.BucketHistory, _columns(lending.BucketHistory, drop=NIGHT_ID)),
    Table("lending.portfoliosnapshot", lending.PortfolioSnapshot, _columns(lending.PortfolioSnapshot, drop=NIGHT_ID)),
    Table("lending.loanmonthsnapshot", lending.LoanMonthSnapshot, _columns(lending.LoanMonthSnapshot, drop=NIGHT_ID)),
    # riskmodels
    Table("riskmodels.loanscore", riskmodels.LoanScore, _columns(riskmodels.LoanScore, drop=NIGHT_ID)),
    Table("riskmodels.bandchange", riskmodels.BandChange, _columns(riskmodels.BandChange, drop=NIGHT_ID)),
    Table(
        "riskmodels.limitreduction",
        riskmodels.LimitReduction,
        _columns(
            riskmodels.LimitReduction,
            drop=NIGHT_ID,
            swap={
                "band_change_id": _via("band_change", ("loan_id", "on")),
                "event_id": _via("event", ("credit_line_id", "on", "kind")),
            },
        ),
    ),
    Table("riskmodels.scoringnight", riskmodels.ScoringNight, _columns(riskmodels.ScoringNight, drop=NIGHT_ID)),
    Table(
        "riskmodels.scoredistribution",
        riskmodels.ScoreDistribution,
        _columns(riskmodels.ScoreDistribution, drop=NIGHT_ID),
    ),
    Table("riskmodels.modelmonitor", riskmodels.ModelMonitor, _columns(riskmodels.ModelMonitor, drop=NIGHT_ID)),
    Table(
        "riskmodels.modelperformance",
        riskmodels.ModelPerformance,
        _columns(riskmodels.ModelPerformance, drop=NIGHT_ID),
    ),
    # collections
    Table("collections.case", collections.Case, _columns(collections.Case, drop=["id", "assigned_at"])),
    Table(
        "collections.case_loans",
        collections.Case.loans.through,
        (*_via("case", CASE), "loan_id"),
    ),
    Table(
        "collections.agencyplacement",
        collections.AgencyPlacement,
        _columns(
            collections.AgencyPlacement, drop=["id", "borrower_notified_at"], swap={"case_id": _via("case", CASE)}
        ),
    ),
    Table(
        "collections.promise",
        collections.Promise,
        _columns(collections.Promise, drop=["created_at"], swap={"case_id": _via("case", CASE)}),
    ),
    Table(
        "collections.arrangement",
        collections.Arrangement,
        _columns(
            collections.Arrangement,
            drop=["requested_at", "decided_at"],
            swap={"case_id": _via("case", CASE)},
        ),
    ),
    Table(
        "collections.reminder",
        collections.Reminder,
        _columns(
            collections.Reminder,
            drop=["id", "claimed_at", "sent_at", "next_try_at"],
            swap={"attempt_id": _via("attempt", ATTEMPT)},
        ),
    ),
    Table(
        "collections.contactattempt",
        collections.ContactAttempt,
        _columns(
            collections.ContactAttempt,
            drop=["id", "at", "created_at", "next_allowed_at", "rule_results", "note"],
            swap={"case_id": _via("case", CASE)},
        ),
    ),
    Table(
        "collections.outboxmessage",
        collections.OutboxMessage,
        _columns(
            collections.OutboxMessage,
            drop=["id", "status_at", "created_at"],
            swap={"reminder_id": _via("reminder", REMINDER)},
        ),
    ),
    # dashboards
    Table("dashboards.rollratemonth", dashboards.RollRateMonth, _columns(dashboards.RollRateMonth, drop=NIGHT_ID)),
    Table("dashboards.vintagepoint", dashboards.VintagePoint, _columns(dashboards.VintagePoint, drop=NIGHT_ID)),
    Table(
        "dashboards.expectedlossday",
        dashboards.ExpectedLossDay,
        _columns(dashboards.ExpectedLossDay, drop=NIGHT_ID),
    ),
    Table("dashboards.collectionsday", dashboards.CollectionsDay, _columns(dashboards.CollectionsDay, drop=NIGHT_ID)),
    Table("dashboards.complianceday", dashboards.ComplianceDay, _columns(dashboards.ComplianceDay, drop=NIGHT_ID)),
    # the nights' own records
    Table("core.jobrun", core.JobRun, ("step", "business_date", "status", "chunks_total", "chunks_done", "rows")),
    Table("core.jobchunk", core.JobChunk, ("job_run__step", "job_run__business_date", "lo", "hi", "done", "rows")),
    Table("core.closedday", core.ClosedDay, ("business_date",)),
]


def _line(row: tuple[object, ...]) -> str:
    return json.dumps(row, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))


def _table_lines(table: Table) -> list[str]:
    rows = table.model.objects.order_by().values_list(*table.columns)
    return sorted(_line(row) for row in rows.iterator(chunk_size=5000))


def _audit_lines() -> list[str]:
    # Audit rows carry wall-clock stamps and night-assigned entity ids: counted per action.
    counts = core.AuditLog.objects.order_by().values_list("action", "entity_type").annotate(rows=Count("id"))
    return sorted(_line(tuple(row)) for row in counts)


def table_digests() -> dict[str, str]:
    """The sha256 of each table's canonical dump (row lines sorted), by table name."""
    parts = {table.name: _table_lines(table) for table in TABLES}
    parts["core.auditlog (count per action)"] = _audit_lines()
    return {name: hashlib.sha256("\n".join(lines).encode()).hexdigest() for name, lines in parts.items()}


def book_digest() -> str:
    """The sha256 over every table the nights write, canonically dumped (see the module docstring)."""
    combined = hashlib.sha256()
    for name, digest in table_digests().items():
        combined.update(f"{name}\t{digest}\n".encode())
    return combined.hexdigest()
