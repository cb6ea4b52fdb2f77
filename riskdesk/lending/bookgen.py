"""A large synthetic book for benchmarks, written with COPY on Postgres.

The book is closed through the day before `as_of`, consistent to the cent: schedules
from lending/schedule.py, installments due before then paid on their due dates by one
autodebit payment each (with its allocation), except for a delinquent few percent
whose installments stop being paid at some point; their penalties, days past due,
buckets, bucket history and frozen lines are what close of day would have left.
Closing `as_of` is then an ordinary night.

Rows are built from per-schedule text fragments (schedules repeat: principal in
thousands, a few terms, one disbursement date a day), so a million loans and eight
million installments take a couple of minutes, most of it COPY.
"""

from __future__ import annotations

import functools
import io
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from riskdesk.core.dates import add_months
from riskdesk.core.models import ClosedDay, JobRun
from riskdesk.core.sql import is_postgres
from riskdesk.lending import engine
from riskdesk.lending.closeday import SNAPSHOT_STEP
from riskdesk.lending.models import Product
from riskdesk.lending.schedule import build_schedule
from riskdesk.lending.selectors import DAY_STATE_STEP, buckets

TERMS = (3, 6, 12, 12)
GRACE_DAYS = 3
TOLERANCE = Decimal("1.00")
RATE = Decimal("0.000450")
MULTIPLIER = Decimal("1.500")
ZERO = Decimal("0.00")
EMPTY = '""'  # an empty string in COPY's CSV; an unquoted empty field is NULL


@dataclass(frozen=True)
class Template:
    """One schedule's installments, as text fragments for the paid and unpaid states."""

    dues: list[date]
    amounts: list[tuple[Decimal, Decimal]]  # (principal, interest)
    paid_rows: list[str]
    unpaid_rows: list[str]


def _template(principal: Decimal, term: int, disbursed_on: date) -> Template:
    lines = build_schedule(
        principal=principal, method="equal_installment", term=term, disbursed_on=disbursed_on, daily_rate=RATE
    )
    paid, unpaid = [], []
    for line in lines:
        grace_end = line.due_date + timedelta(days=GRACE_DAYS)
        common = f"{line.seq},{line.period_start},{line.due_date},{line.principal},{line.interest}"
        tail = f"{grace_end},{line.due_date},{TOLERANCE}"
        paid.append(f"{common},{line.principal},{line.interest},0.00,0.00,0.00,{line.due_date},{tail}")
        unpaid.append(f"{common},0.00,0.00,{{penalty}},0.00,0.00,,{tail}")
    return Template([x.due_date for x in lines], [(x.principal, x.interest) for x in lines], paid, unpaid)


class _Copy:
    """Buffers CSV rows per table and writes them with COPY (Postgres) or executemany."""

    def __init__(self, table: str, columns: str) -> None:
        self.table, self.columns = table, columns
        self.buffer = io.StringIO()
        self.rows = 0

    def write(self, row: str) -> None:
        self.buffer.write(row)
        self.buffer.write("\n")
        self.rows += 1

    def flush(self) -> None:
        if not self.rows:
            return
        self.buffer.seek(0)
        with connection.cursor() as cursor:
            if is_postgres():
                cursor.cursor.copy_expert(
                    f"COPY {self.table} ({self.columns}) FROM STDIN WITH (FORMAT csv, NULL '')", self.buffer
                )
            else:
                ncols = len(self.columns.split(","))
                rows = [[_sqlite_value(v) for v in line.split(",")] for line in self.buffer.getvalue().splitlines()]
                cursor.executemany(
                    f"INSERT INTO {self.table} ({self.columns}) VALUES ({', '.join(['%s'] * ncols)})", rows
                )
        self.buffer = io.StringIO()
        self.rows = 0


def _sqlite_value(value: str) -> str | None:
    return None if value == "" else "" if value == EMPTY else value


def _next_ids(table: str, count: int) -> int:
    """Reserve `count` ids of `table`; return the first."""
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")
            first = cursor.fetchone()[0]
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [first + count])
            return first + 1
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return cursor.fetchone()[0] + 1


def generate_book(
    *,
    loans: int,
    as_of: date,
    delinquent_share: float = 0.04,
    seed: int = 1,
    batch: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write `loans` open loans closed through `as_of` - 1 day; return row counts."""
    product, _ = Product.objects.get_or_create(
        code="bench",
        defaults={
            "name": "Benchmark line",
            "daily_rate": RATE,
            "penalty_multiplier": MULTIPLIER,
            "methods": ["equal_installment"],
            "terms": sorted(set(TERMS)),
            "min_amount": Decimal("1000.00"),
            "max_amount": Decimal("50000.00"),
        },
    )
    closed = as_of - timedelta(days=1)
    counts = {"loans": 0, "installments": 0, "payments": 0, "delinquent": 0}
    rng = random.Random(seed)
    templates: dict[tuple[int, int, date], Template] = {}
    config = buckets()
    done = 0
    with _secondary_indexes_dropped(BULK_TABLES if loans >= 100_000 else ()):
        while done < loans:
            size = min(batch, loans - done)
            with transaction.atomic():
                if is_postgres():
                    # Bulk load: skip the per-row foreign-key triggers for this transaction; the
                    # ids written are reserved from the sequences just before and all exist.
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL session_replication_role = replica")
                        cursor.execute("SET LOCAL synchronous_commit = off")
                _write_batch(size, product.pk, closed, delinquent_share, rng, templates, config, counts)
            done += size
            if progress:
                progress(size)
    _mark_closed(closed)
    if is_postgres():
        with connection.cursor() as cursor:
            for table in (
                "lending_loan",
                "lending_installment",
                "lending_payment",
                "lending_allocation",
                "lending_creditline",
                "lending_borrower",
                "lending_buckethistory",
            ):
                cursor.execute(f"ANALYZE {table}")
    return counts


BULK_TABLES = ("lending_installment", "lending_payment", "lending_allocation")


@contextmanager
def _secondary_indexes_dropped(tables: tuple[str, ...]) -> Iterator[None]:
    """Drop the indexes and unique constraints (not primary keys) of `tables` on Postgres
    for a bulk load and build them again afterwards: much faster than maintaining them
    row by row."""
    if not is_postgres() or not tables:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)",
            [list(tables)],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT LIKE '%%_pkey' AND indexname <> ALL(%s)",
            [list(tables), [name for _, name, _ in constraints] or [""]],
        )
        indexes = cursor.fetchall()
        for table, name, _ in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for _, name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for table, name, definition in constraints:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for _, _, definition in indexes:
                cursor.execute(definition)


def _write_batch(
    size: int,
    product_id: int,
    closed: date,
    delinquent_share: float,
    rng: random.Random,
    templates: dict[tuple[int, int, date], Template],
    config: list[engine.Bucket],
    counts: dict[str, int],
) -> None:
    now = timezone.now().isoformat()
    first_borrower = _next_ids("lending_borrower", size)
    first_line = _next_ids("lending_creditline", size)
    first_loan = _next_ids("lending_loan", size)
    borrowers = _Copy("lending_borrower", "id,name,national_id,email,address,bank_card,timezone,language,created_at")
    lines = _Copy("lending_creditline", 'id,borrower_id,"limit",status,freeze_reason,frozen_on,unfreeze_on,created_at')
    loan_rows = _Copy(
        "lending_loan",
        "id,credit_line_id,borrower_id,product_id,principal,term,method,disbursed_on,daily_rate,penalty_multiplier,"
        "penalty_base,status,paid_off_on,outstanding_principal,overdue_amount,penalty_accrued,dpd,bucket,in_grace,"
        "grace_end,last_value_date,next_due_date,risk_band,risk_pd,created_at",
    )
    installments = _Copy(
        "lending_installment",
        "loan_id,seq,period_start,due_date,principal_due,interest_due,principal_paid,interest_paid,penalty_accrued,"
        "penalty_paid,late_base_days,pi_settled_on,grace_end,penalty_from,arrears_tolerance",
    )
    history = _Copy("lending_buckethistory", 'loan_id,"on",from_bucket,to_bucket,dpd')
    plans = [_plan(rng, closed, delinquent_share) for _ in range(size)]
    paid_total = sum(plan[3] for plan in plans)
    first_payment = _next_ids("lending_payment", paid_total)
    payments = _Copy(
        "lending_payment",
        "id,loan_id,amount,value_date,kind,channel,reference,idempotency_key,request_hash,status,unapplied,"
        "reversed_at,reversal_reason,created_by_id,created_at",
    )
    allocations = _Copy("lending_allocation", "payment_id,loan_id,seq,penalty,interest,principal")
    payment_id = first_payment
    for k, (principal, term, disbursed_on, paid_count, _delinquent) in enumerate(plans):
        key = (principal, term, disbursed_on)
        template = templates.get(key) or templates.setdefault(key, _template(Decimal(principal), term, disbursed_on))
        loan_id, line_id, borrower_id = first_loan + k, first_line + k, first_borrower + k
        borrowers.write(
            f'{borrower_id},Borrower {borrower_id},G{borrower_id:017d},"","","",Asia/Shanghai,zh-hans,{now}'
        )
        state = _loan_state(template, paid_count, closed, config)
        for seq in range(1, paid_count + 1):
            installments.write(f"{loan_id},{template.paid_rows[seq - 1]}")
            p, i = template.amounts[seq - 1]
            due = template.dues[seq - 1]
            payments.write(
                f'{payment_id},{loan_id},{p + i},{due},regular,autodebit,"",gen-{loan_id}-{seq},"",posted,0.00,,"",,{now}'
            )
            allocations.write(f"{payment_id},{loan_id},{seq},0.00,{i},{p}")
            payment_id += 1
        for seq in range(paid_count + 1, len(template.dues) + 1):
            penalty = state.penalties.get(seq, ZERO)
            installments.write(f"{loan_id},{template.unpaid_rows[seq - 1].format(penalty=penalty)}")
        for on, old, new, dpd in state.changes:
            history.write(f"{loan_id},{on},{old},{new},{dpd}")
        frozen = state.dpd > 0 and not state.in_grace
        frozen_on = state.grace_end + timedelta(days=1) if frozen and state.grace_end else ""
        lines.write(
            f"{line_id},{borrower_id},{principal * 2}.00,{'frozen' if frozen else 'active'},"
            f"{'loan_overdue' if frozen else EMPTY},{frozen_on},,{now}"
        )
        outstanding = Decimal(principal) - sum((a[0] for a in template.amounts[:paid_count]), ZERO)
        last_value = template.dues[paid_count - 1] if paid_count else ""
        next_due = template.dues[paid_count] if paid_count < len(template.dues) else ""
        loan_rows.write(
            f"{loan_id},{line_id},{borrower_id},{product_id},{principal}.00,{term},equal_installment,{disbursed_on},"
            f"{RATE},{MULTIPLIER},principal,active,,{outstanding},{state.overdue},{state.penalty},{state.dpd},"
            f"{state.bucket},{'true' if state.in_grace else 'false'},{state.grace_end or ''},{last_value},{next_due},{EMPTY},,{now}"
        )
        counts["delinquent"] += bool(state.dpd)
    for writer in (borrowers, lines, loan_rows, installments, history, payments, allocations):
        writer.flush()
    counts["loans"] += size
    counts["installments"] += sum(len(templates[(p, t, d)].dues) for p, t, d, _, _ in plans)
    counts["payments"] += paid_total


def _plan(rng: random.Random, closed: date, delinquent_share: float) -> tuple[int, int, date, int, bool]:
    """(principal, term, disbursed_on, installments paid, delinquent) for one loan."""
    term = rng.choice(TERMS)
    principal = rng.randrange(1000, 50001, 1000)
    disbursed_on = closed - timedelta(days=rng.randrange(0, term * 30 - 2))
    due_count = _due_count(disbursed_on, term, closed)
    delinquent = due_count > 0 and rng.random() < delinquent_share
    paid_count = rng.randrange(0, due_count) if delinquent else due_count
    return principal, term, disbursed_on, paid_count, delinquent


@functools.cache
def _due_count(disbursed_on: date, term: int, closed: date) -> int:
    return sum(1 for k in range(1, term + 1) if add_months(disbursed_on, k) <= closed)


@dataclass
class _State:
    dpd: int
    bucket: str
    in_grace: bool
    grace_end: date | None
    overdue: Decimal
    penalty: Decimal
    penalties: dict[int, Decimal]
    changes: list[tuple[date, str, str, int]]


def _loan_state(template: Template, paid_count: int, closed: date, config: list[engine.Bucket]) -> _State:
    """The delinquency close of day would have left on `closed` (the engine's own rules)."""
    if paid_count >= len(template.dues) or template.dues[paid_count] >= closed:
        return _State(0, config[0].code, False, None, ZERO, ZERO, {}, [])
    terms = engine.LoanTerms(ZERO, "equal_installment", closed, RATE, MULTIPLIER, engine.BASE_PRINCIPAL)
    penalties, overdue = {}, ZERO
    for seq in range(paid_count + 1, len(template.dues) + 1):
        due = template.dues[seq - 1]
        if due >= closed:
            break
        p, i = template.amounts[seq - 1]
        grace_end = due + timedelta(days=GRACE_DAYS)
        inst = engine.InstallmentState(seq, due, due, grace_end, due, TOLERANCE, p, i)
        penalties[seq] = inst.penalty_on(closed, terms)
        overdue += p + i + penalties[seq]
    oldest = template.dues[paid_count]
    grace_end = oldest + timedelta(days=GRACE_DAYS)
    dpd = (closed - oldest).days
    changes, previous = [], config[0].code
    for bucket in config:
        if bucket.min_dpd and bucket.min_dpd <= dpd:
            changes.append((oldest + timedelta(days=bucket.min_dpd), previous, bucket.code, bucket.min_dpd))
            previous = bucket.code
    penalty = sum(penalties.values(), ZERO)
    return _State(
        dpd, engine.bucket_for(dpd, config), closed <= grace_end, grace_end, overdue, penalty, penalties, changes
    )


def _mark_closed(closed: date) -> None:
    """Record `closed` as a closed business day, as if the nights up to it had run."""
    now = timezone.now()
    for step in (DAY_STATE_STEP, SNAPSHOT_STEP):
        JobRun.objects.update_or_create(
            step=step,
            business_date=closed,
            defaults={"status": JobRun.Status.DONE, "started_at": now, "finished_at": now, "rows": {"generated": 1}},
        )
    ClosedDay.objects.get_or_create(business_date=closed)
