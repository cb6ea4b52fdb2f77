"""How long each kind of record is kept, and the nightly purge of what is older.

An admin sets a period per kind (RetentionPolicy: versioned rows, never edited once in
force); the law sets a floor under it. The purge of a kind on business date D removes
what is dated before D minus the period in force on D, and never less than the floor:
`max(policy, minimum)`, so a row forced below the minimum in the database cannot shorten
it (and on Postgres the audit log's trigger refuses a delete under the minimum as well).

Core purges the audit log; apps register the purges of their own records (`Purge`) in a
module named `retention`, which `purges()` discovers the way the admin finds `admin`
modules, so core knows no app above it (DESIGN.md: core <- lending <- collections ...).
The audit log's period runs from the end of the business relationship a row concerns, not
from the row's date: an app holds the rows about its records while that relationship lasts
(`register_audit_hold`), and the purge takes only old rows no hold keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.dates import business_today
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.jobs import last_closed_day
from riskdesk.core.models import AuditLog, RetentionPolicy
from riskdesk.core.sql import execute, is_postgres

Kind = RetentionPolicy.Kind

# The legal minimums: the lender's compliance setting, in days. N years is N x 365 days
# plus the leap days N years can hold, so no leap year cuts a period short.
# - contact attempts, 3 years (1,096 days): the evidence of how a debt was collected must
#   outlive a claim about it: China's general limitation period is 3 years (Civil Code
#   art. 188); US Regulation F keeps records of compliance 3 years after the last
#   collection activity (12 CFR 1006.100); the UK FCA keeps complaint records 3 years (DISP 1.9).
# - call-recording references, 2 years (731 days): China's internet-finance collection
#   convention (NIFA, 2018) asks for collection recordings to be kept at least 2 years;
#   a lender under Regulation F raises this to 3 years (RISKDESK_RETENTION_MINIMUM_DAYS).
# - the audit log, 5 years (1,827 days): the Anti-Money Laundering Law keeps customer and
#   transaction records 5 years after the business ends, and a negative credit record is
#   kept 5 years after it ends (Regulation on Credit Reporting, art. 16).
LEGAL_MINIMUM_DAYS: dict[str, int] = {
    Kind.CONTACT_ATTEMPTS: 3 * 365 + 1,
    Kind.RECORDING_REFERENCES: 2 * 365 + 1,
    Kind.AUDIT_LOG: 5 * 365 + 2,
}
# The audit log's trigger holds this floor in SQL (migration 0005); keep the two equal.
AUDIT_LOG_TRIGGER_MINIMUM_DAYS = 1827
# A century: a period longer than that is a typing error, and date arithmetic stays in range.
MAX_KEEP_DAYS = 36_500
# The default versions start here (migration 0004); a version before them would rewrite
# nothing and its date arithmetic (the day before 0001-01-01) overflows.
EARLIEST_EFFECTIVE_FROM = date(2000, 1, 1)

# Kinds in the order the purge runs: a recording's reference goes before its attempt.
PURGE_ORDER = (Kind.RECORDING_REFERENCES, Kind.CONTACT_ATTEMPTS, Kind.AUDIT_LOG)


class BelowLegalMinimum(DomainError):
    """A period shorter than the law allows: bad input, named on its field."""

    status = 400


class DateOutOfRange(DomainError):
    """An effective date outside the years a version may start in: bad input, on its field."""

    status = 400


def minimum_days(kind: str) -> int:
    """The floor for `kind`: the legal minimum, raised (never lowered) by the jurisdiction's setting."""
    raised = int(settings.RISKDESK_RETENTION_MINIMUM_DAYS.get(kind, 0))
    return max(LEGAL_MINIMUM_DAYS[kind], raised)


# -- policy versions -------------------------------------------------------------------


def policy_in_force(kind: str, day: date) -> RetentionPolicy | None:
    """The version of `kind` in force on `day`: the latest effective on or before it."""
    return RetentionPolicy.objects.filter(kind=kind, effective_from__lte=day).order_by("-effective_from", "-id").first()


def keep_days_on(kind: str, day: date) -> int:
    """Days `kind` is kept on `day`: the version in force, never under the minimum."""
    policy = policy_in_force(kind, day)
    return max(policy.keep_days if policy else 0, minimum_days(kind))


def cutoff(day: date, keep_days: int) -> datetime:
    """The instant before which records are purged when closing `day`.

    Midnight (lender time) starting day D - keep_days: a record of that day is kept, one of
    the day before is purged.
    """
    return timezone.make_aware(datetime.combine(day - timedelta(days=keep_days), time.min))


def retention_policy_check(*, kind: str, keep_days: int) -> None:
    """Refuse a period no version may hold (the preview checks a draft the same way)."""
    if kind not in Kind.values:
        raise DomainError("invalid_kind", f"Unknown record kind {kind!r}.", field="kind")
    minimum = minimum_days(kind)
    if keep_days < minimum:
        raise BelowLegalMinimum(
            "below_legal_minimum",
            f"{Kind(kind).label} must be kept at least {minimum} days (the legal minimum); {keep_days} is less.",
            field="keep_days",
            minimum=minimum,
        )
    if keep_days > MAX_KEEP_DAYS:
        raise DomainError("invalid_keep_days", f"Keep at most {MAX_KEEP_DAYS} days.", field="keep_days")


@transaction.atomic
def retention_policy_create(
    *, kind: str, keep_days: int, effective_from: date, reason: str = "", actor: Actor = None
) -> RetentionPolicy:
    """Add a version of `kind`'s period, in force from `effective_from`.

    The version starts after the last closed business day, so no night already purged
    under an older version is rewritten; a version is history once saved.
    """
    retention_policy_check(kind=kind, keep_days=keep_days)
    latest = business_today() + timedelta(days=MAX_KEEP_DAYS)
    if not EARLIEST_EFFECTIVE_FROM <= effective_from <= latest:
        raise DateOutOfRange(
            "date_out_of_range",
            f"A retention period's effective date must be between {EARLIEST_EFFECTIVE_FROM} and {latest}.",
            field="effective_from",
        )
    closed = last_closed_day()
    if closed is not None and effective_from <= closed:
        raise DomainError(
            "date_in_closed_past",
            f"A retention period's effective date must be after the last closed business day ({closed}).",
            field="effective_from",
        )
    if RetentionPolicy.objects.filter(kind=kind, effective_from=effective_from).exists():
        raise Conflict(
            "policy_version_exists", "A version with this effective date already exists.", field="effective_from"
        )
    policy = RetentionPolicy.objects.create(
        kind=kind, keep_days=keep_days, effective_from=effective_from, reason=reason, created_by=user_or_none(actor)
    )
    before = policy_in_force(kind, effective_from - timedelta(days=1))
    audit_record(
        actor=actor,
        action="retention_policy.create",
        entity=policy,
        before={"keep_days": before.keep_days, "effective_from": before.effective_from} if before else None,
        after={"kind": kind, "keep_days": keep_days, "effective_from": effective_from},
        reason=reason,
    )
    return policy


# -- the purges ------------------------------------------------------------------------


@dataclass(frozen=True)
class Purge:
    """How one kind is purged: count and remove what is dated before a cutoff.

    `run` works inside the caller's transaction and returns the rows it removed or
    blanked; `count` answers the same question without changing anything.
    """

    kind: str
    count: Callable[[datetime], int]
    run: Callable[[datetime], int]


_PURGES: dict[str, Purge] = {}


def register_purge(purge: Purge) -> Purge:
    _PURGES[purge.kind] = purge
    return purge


def purges() -> list[Purge]:
    """Every kind's purge, in PURGE_ORDER; an app's `retention` module registers its own."""
    autodiscover_modules("retention")
    missing = [kind for kind in PURGE_ORDER if kind not in _PURGES]
    if missing:
        raise LookupError(f"No purge registered for {', '.join(missing)}.")
    return [_PURGES[kind] for kind in PURGE_ORDER]


def retention_purge(*, kind: str, day: date) -> int:
    """Purge `kind` for the close of `day`; one audit row when anything went.

    Atomic with the caller (close of day runs it in its chunk's transaction), so a crash
    purges nothing and the rerun does it all; a second run finds nothing left to purge.
    """
    purge = next(p for p in purges() if p.kind == kind)
    keep_days = keep_days_on(kind, day)
    # A business date ahead of the clock (a rehearsal) must not bring the cutoff under the
    # minimum counted from now: the audit log's trigger would refuse it, and rightly.
    before = min(cutoff(day, keep_days), timezone.now() - timedelta(days=minimum_days(kind)))
    with transaction.atomic():
        removed = purge.run(before)
        if removed:
            policy = policy_in_force(kind, day)
            audit_record(
                actor=None,
                action="retention.purge",
                entity=policy or RetentionPolicy(kind=kind, keep_days=keep_days, effective_from=day),
                after={"kind": kind, "count": removed, "cutoff": before, "keep_days": keep_days, "business_date": day},
            )
    return removed


@dataclass(frozen=True)
class PreviewRow:
    kind: str
    keep_days: int
    minimum_days: int
    cutoff: datetime
    count: int


def retention_preview(*, kind: str, keep_days: int, day: date | None = None) -> list[PreviewRow]:
    """What tonight's purge would remove of each kind with `keep_days` for `kind` in force.

    Tonight closes today's business date; the other kinds keep their versions in force.
    A draft under the minimum is refused as saving it would be.
    """
    retention_policy_check(kind=kind, keep_days=keep_days)
    day = day or business_today()
    rows = []
    for purge in purges():
        days = keep_days if purge.kind == kind else keep_days_on(purge.kind, day)
        days = max(days, minimum_days(purge.kind))
        before = cutoff(day, days)
        rows.append(PreviewRow(purge.kind, days, minimum_days(purge.kind), before, purge.count(before)))
    return rows


# -- the audit log's purge ---------------------------------------------------------------

# SQL of the (entity_type, entity_id) pairs whose audit rows an app still needs at a cutoff:
# the rows about a borrower whose business relationship has not been over for the period.
AuditHold = Callable[[datetime], tuple[str, list[Any]]]

_AUDIT_HOLDS: dict[str, AuditHold] = {}


def register_audit_hold(name: str, hold: AuditHold) -> AuditHold:
    _AUDIT_HOLDS[name] = hold
    return hold


def _expired_audit_rows(before: datetime) -> tuple[str, list[Any]]:
    """SQL of the ids of audit rows dated before `before` that no app holds.

    A row about something no hold claims (a policy, a model version, a user, a record
    already purged under its own period) goes by its own date.
    """
    autodiscover_modules("retention")
    table = AuditLog._meta.db_table
    sql, params = f"SELECT a.id FROM {table} a WHERE a.at < %s", [before]
    for hold in _AUDIT_HOLDS.values():
        held, held_params = hold(before)
        sql += (
            f" AND NOT EXISTS (SELECT 1 FROM ({held}) held"
            " WHERE held.entity_type = a.entity_type AND held.entity_id = a.entity_id)"
        )
        params += held_params
    return sql, params


def _audit_log_count(before: datetime) -> int:
    sql, params = _expired_audit_rows(before)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) expired", params)
        return cursor.fetchone()[0]


def _audit_log_run(before: datetime) -> int:
    """Delete audit rows dated before `before` that no app holds.

    On Postgres the append-only trigger lets a DELETE through only in a transaction that
    says it purges (riskdesk.retention_purge) with its cutoff, only for rows older than
    that cutoff, and only when the cutoff is past the legal minimum.
    """
    if is_postgres():
        execute("SELECT set_config('riskdesk.retention_purge', 'on', true)", [])
        execute("SELECT set_config('riskdesk.retention_cutoff', %s, true)", [before.isoformat()])
    sql, params = _expired_audit_rows(before)
    removed = execute(f"DELETE FROM {AuditLog._meta.db_table} WHERE id IN ({sql})", params)
    if is_postgres():
        # Only this statement purges; the flags end with the transaction in any case.
        execute("SELECT set_config('riskdesk.retention_purge', 'off', true)", [])
    return removed


register_purge(Purge(Kind.AUDIT_LOG, _audit_log_count, _audit_log_run))


def describe(rows: list[PreviewRow]) -> list[dict[str, Any]]:
    """The preview as plain values (the API's and the admin page's rows)."""
    return [
        {
            "kind": row.kind,
            "keep_days": row.keep_days,
            "minimum_days": row.minimum_days,
            "cutoff": row.cutoff,
            "count": row.count,
        }
        for row in rows
    ]
