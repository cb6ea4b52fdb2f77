"""Close of day for the lending book, set-based (DESIGN.md "Close of day", steps 1-2).

Step 1 (`lending.day_state`), per id-range chunk of loans, for business date D:
  * the candidates are the loans that can be delinquent on D: an installment not yet
    fully paid falls due before D (`next_due_date < D`, by index), or the loan still
    shows days past due or unpaid amounts from before;
  * penalties of their installments past grace end, from the engine's own formula
    (`InstallmentState.penalty_on`, net of any waiver), so the night and the per-loan
    replay cannot differ; an arrangement's new installments are rows like the others;
  * days past due, bucket, grace end, overdue amount in one statement; a bucket
    history row for each loan whose bucket changes;
  * loans with a payment value-dated (or an arrangement effective) after D, on a
    catch-up night, are replayed one by one.
  Its finish freezes and unfreezes credit lines.
Step 2 (`lending.snapshot`): the day's portfolio aggregates, and at month end a
loan-level snapshot.

Nothing here loops over the book in Python: the work grows with the delinquent part.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Max, Min, Q
from django.utils import timezone

from riskdesk.core.dates import is_month_end
from riskdesk.core.jobs import RowCounts, Step, id_ranges
from riskdesk.core.sql import date_param, days_between, execute, fetch_all, is_postgres, money, month_start
from riskdesk.lending import engine
from riskdesk.lending.models import CreditLine, CreditLineEvent, GracePolicy, Loan
from riskdesk.lending.selectors import DAY_STATE_STEP

SNAPSHOT_STEP = "lending.snapshot"
BATCH = 5000


def _prefer_index_lookups() -> None:
    """Plan this chunk's joins as index lookups per candidate loan (Postgres).

    The candidates are a few percent of the book; left alone, the planner over-guesses
    installments per loan and merges against the whole installment index of the chunk
    (2M entries for 8k loans at a million loans). SET LOCAL ends with the transaction.
    """
    if is_postgres():
        execute("SET LOCAL enable_mergejoin = off")
        execute("SET LOCAL enable_hashjoin = off")
        execute("SET LOCAL jit = off")


def _analyze(table: str) -> None:
    """Give the planner the size of a table just filled (Postgres): a fresh temp table, a month end."""
    if is_postgres():
        execute(f"ANALYZE {table}")


def loan_chunks(_: date) -> list[tuple[int, int]]:
    bounds = Loan.objects.filter(Q(status=Loan.Status.ACTIVE) | Q(dpd__gt=0)).aggregate(lo=Min("id"), hi=Max("id"))
    return id_ranges(bounds["lo"], bounds["hi"], settings.CLOSE_DAY_CHUNK_LOANS)


def day_state_chunk(day: date, lo: int, hi: int) -> RowCounts:
    """Step 1 for loans lo..hi on `day`."""
    _prefer_index_lookups()
    _lock_candidates(day, lo, hi)
    replayed = _replay_catch_up(day, lo, hi)
    execute("DROP TABLE IF EXISTS closeday_candidate")
    execute(
        f"""
        CREATE TEMP TABLE closeday_candidate AS
        SELECT id AS loan_id, bucket AS old_bucket FROM lending_loan
        WHERE id BETWEEN %s AND %s
          AND (status = 'active' OR dpd > 0)
          AND (last_value_date IS NULL OR last_value_date <= {date_param()})
          AND (next_due_date < {date_param()} OR dpd > 0 OR overdue_amount > 0 OR penalty_accrued > 0)
        """,
        [lo, hi, day, day],
    )
    _analyze("closeday_candidate")
    penalties = _accrue_penalties(day)
    bucket_changes, loans = _update_day_state(day)
    execute("DROP TABLE closeday_candidate")
    return {
        "loans_delinquent": loans,
        "penalties_changed": penalties,
        "bucket_changes": bucket_changes,
        "loans_replayed": replayed,
    }


def _lock_candidates(day: date, lo: int, hi: int) -> None:
    """Take the row lock payment_post takes on every loan this chunk may write, in id order.

    A payment on such a loan either commits before (and the chunk reads it) or waits for
    the chunk; without the lock the night could overwrite a payment's fresh state.
    SQLite serializes writers anyway.
    """
    if is_postgres():
        d = date_param()
        execute(
            f"""
            SELECT id FROM lending_loan
            WHERE id BETWEEN %s AND %s AND (status = 'active' OR dpd > 0)
              AND (next_due_date < {d} OR dpd > 0 OR overdue_amount > 0 OR penalty_accrued > 0 OR last_value_date > {d})
            ORDER BY id FOR UPDATE
            """,
            [lo, hi, day, day],
        )


def _replay_catch_up(day: date, lo: int, hi: int) -> int:
    """Loans with money value-dated after `day` are replayed through `day` one by one."""
    from riskdesk.lending.services import loan_replay

    loans = Loan.objects.filter(id__range=(lo, hi), last_value_date__gt=day).filter(
        Q(status=Loan.Status.ACTIVE) | Q(dpd__gt=0)
    )
    count = 0
    for loan in loans.select_for_update():
        loan_replay(loan=loan, history_from=day, through=day)
        count += 1
    return count


def _accrue_penalties(day: date) -> int:
    """Recompute the penalty of every open installment past its grace end, on `day`."""
    rows = fetch_all(
        f"""
        SELECT i.id, i.seq, i.due_date, i.grace_end, i.penalty_from, i.principal_due, i.interest_due,
               i.principal_paid, i.interest_paid, i.penalty_paid, i.penalty_accrued, i.late_base_days,
               i.penalty_waived, l.daily_rate, l.penalty_multiplier, l.penalty_base
        FROM closeday_candidate c
        JOIN lending_installment i ON i.loan_id = c.loan_id
        JOIN lending_loan l ON l.id = c.loan_id
        WHERE i.pi_settled_on IS NULL AND i.due_date < {date_param()} AND i.grace_end < {date_param()}
        """,
        [day, day],
    )
    terms_cache: dict[tuple[Any, ...], engine.LoanTerms] = {}
    changed: list[tuple[int, Decimal]] = []
    for (
        iid,
        seq,
        due,
        grace_end,
        penalty_from,
        p_due,
        i_due,
        p_paid,
        i_paid,
        pen_paid,
        pen_old,
        late,
        waived,
        rate,
        mult,
        base,
    ) in rows:
        key = (rate, mult, base)
        terms = terms_cache.get(key)
        if terms is None:
            terms = terms_cache[key] = engine.LoanTerms(Decimal(0), "", day, _rate(rate), _rate(mult), base)
        due, grace_end, penalty_from = _date(due), _date(grace_end), _date(penalty_from)
        state = engine.InstallmentState(
            seq,
            due,
            due,
            grace_end,
            penalty_from,
            Decimal(0),
            _dec(p_due),
            _dec(i_due),
            _dec(p_paid),
            _dec(i_paid),
            _dec(pen_paid),
            late_base_days=_dec(late),
            penalty_waived=_dec(waived),
        )
        penalty = state.penalty_on(day, terms)
        if penalty != _dec(pen_old):
            changed.append((iid, penalty))
    for start in range(0, len(changed), BATCH):
        _update_penalties(changed[start : start + BATCH])
    return len(changed)


# SQLite's driver hands back floats and ISO strings where Postgres gives Decimal and date.
def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(Decimal("0.01"))


def _rate(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _update_penalties(batch: list[tuple[int, Decimal]]) -> None:
    values = ", ".join(["(%s, %s)"] * len(batch))
    cast = "::bigint" if is_postgres() else ""
    numeric = "::numeric" if is_postgres() else ""
    execute(
        f"""
        WITH v(id, penalty) AS (VALUES {values})
        UPDATE lending_installment SET penalty_accrued = v.penalty{numeric}
        FROM v WHERE lending_installment.id = v.id{cast}
        """,
        [x for row in batch for x in row],
    )


def _update_day_state(day: date) -> tuple[int, int]:
    """Days past due, bucket, grace end and overdue amounts of the candidates on `day`."""
    d = date_param()
    unpaid_pi = money("i.principal_due + i.interest_due - i.principal_paid - i.interest_paid")
    execute("DROP TABLE IF EXISTS closeday_state")
    # The oldest delinquent installment is looked up by (loan, seq) per loan: a join
    # there lets the planner walk the whole installment index.
    oldest = "(SELECT o.{column} FROM lending_installment o WHERE o.loan_id = a.loan_id AND o.seq = a.oldest_seq)"
    oldest_due, oldest_grace_end = oldest.format(column="due_date"), oldest.format(column="grace_end")
    overdue = f"SUM(CASE WHEN i.due_date < {d} THEN {unpaid_pi} ELSE 0 END) + SUM(i.penalty_accrued - i.penalty_paid)"
    execute(
        f"""
        CREATE TEMP TABLE closeday_state AS
        SELECT a.loan_id, a.old_bucket,
               COALESCE({days_between(d, oldest_due)}, 0) AS dpd,
               {oldest_grace_end} AS grace_end,
               a.overdue AS overdue_amount, a.penalty
        FROM (
            SELECT c.loan_id, c.old_bucket,
                   {money(overdue)} AS overdue,
                   {money("SUM(i.penalty_accrued - i.penalty_paid)")} AS penalty,
                   MIN(CASE WHEN i.due_date < {d} AND {unpaid_pi} > i.arrears_tolerance THEN i.seq END) AS oldest_seq
            FROM closeday_candidate c JOIN lending_installment i ON i.loan_id = c.loan_id
            GROUP BY c.loan_id, c.old_bucket
        ) a
        """,
        [day, day, day],
    )
    _analyze("closeday_state")
    bucket_sql = (
        "(SELECT b.code FROM lending_bucket b WHERE s.dpd >= b.min_dpd AND (b.max_dpd IS NULL OR s.dpd <= b.max_dpd))"
    )
    execute("ALTER TABLE closeday_state ADD COLUMN bucket varchar(8)")
    execute(f"UPDATE closeday_state SET bucket = {bucket_sql.replace('s.dpd', 'closeday_state.dpd')}")
    changes = execute(
        f"""
        INSERT INTO lending_buckethistory (loan_id, "on", from_bucket, to_bucket, dpd)
        SELECT s.loan_id, {d}, s.old_bucket, s.bucket, s.dpd FROM closeday_state s WHERE s.bucket <> s.old_bucket
        """,
        [day],
    )
    in_grace = f"COALESCE(s.dpd > 0 AND s.grace_end >= {d}, FALSE)"
    loans = execute(
        f"""
        UPDATE lending_loan SET dpd = s.dpd, bucket = s.bucket, grace_end = s.grace_end,
               in_grace = {in_grace}, overdue_amount = s.overdue_amount, penalty_accrued = s.penalty
        FROM closeday_state s WHERE lending_loan.id = s.loan_id
        """,
        [day],
    )
    execute("DROP TABLE closeday_state")
    return changes, loans


def credit_lines_finish(day: date) -> RowCounts:
    """Freeze lines with an overdue loan; start cooling-off after cure; lift it when due.

    Every change writes a CreditLineEvent with its reason and date, so the desk can say
    why a repaid borrower still cannot draw, and until when.
    """
    overdue = dict(
        Loan.objects.filter(dpd__gt=0, in_grace=False)
        .order_by("credit_line_id", "id")
        .values_list("credit_line_id", "id")
        .distinct()
    )
    auto = [CreditLine.Reason.LOAN_OVERDUE, CreditLine.Reason.COOLING_OFF]
    frozen = {
        line_id: (reason, unfreeze_on)
        for line_id, reason, unfreeze_on in CreditLine.objects.filter(
            status=CreditLine.Status.FROZEN, freeze_reason__in=auto
        ).values_list("id", "freeze_reason", "unfreeze_on")
    }
    cooling_days = _cooling_off_days(day)
    lift_on = day + timedelta(days=cooling_days)
    # Overdue lines not yet frozen for it; a manual freeze or a closed line is left alone.
    candidates = [i for i in overdue if frozen.get(i, (None,))[0] != CreditLine.Reason.LOAN_OVERDUE]
    freeze = [
        i
        for ids in _batches(candidates)
        for i in CreditLine.objects.filter(id__in=ids)
        .filter(Q(status=CreditLine.Status.ACTIVE) | Q(freeze_reason=CreditLine.Reason.COOLING_OFF))
        .values_list("id", flat=True)
    ]
    cure = [i for i, (reason, _) in frozen.items() if reason == CreditLine.Reason.LOAN_OVERDUE and i not in overdue]
    lift = [
        i
        for i, (reason, on) in frozen.items()
        if reason == CreditLine.Reason.COOLING_OFF and i not in overdue and on and on <= day
    ]
    now = timezone.now()
    for ids in _batches(freeze):
        CreditLine.objects.filter(id__in=ids).update(
            status=CreditLine.Status.FROZEN,
            freeze_reason=CreditLine.Reason.LOAN_OVERDUE,
            frozen_on=day,
            unfreeze_on=None,
        )
    CreditLineEvent.objects.bulk_create(
        CreditLineEvent(credit_line_id=i, on=day, kind="freeze", reason="loan_overdue", loan_id=overdue[i], at=now)
        for i in freeze
    )
    for ids in _batches(cure):
        CreditLine.objects.filter(id__in=ids).update(freeze_reason=CreditLine.Reason.COOLING_OFF, unfreeze_on=lift_on)
    CreditLineEvent.objects.bulk_create(
        CreditLineEvent(
            credit_line_id=i,
            on=day,
            kind="cooling_off",
            reason="cured",
            unfreeze_on=lift_on,
            at=now,
        )
        for i in cure
    )
    for ids in _batches(lift):
        CreditLine.objects.filter(id__in=ids).update(
            status=CreditLine.Status.ACTIVE, freeze_reason="", frozen_on=None, unfreeze_on=None
        )
    CreditLineEvent.objects.bulk_create(
        CreditLineEvent(credit_line_id=i, on=day, kind="unfreeze", reason="cooling_off_ended", at=now) for i in lift
    )
    return {"lines_frozen": len(freeze), "lines_cooling_off": len(cure), "lines_unfrozen": len(lift)}


def _cooling_off_days(day: date) -> int:
    """Cooling-off of the all-products grace policy in force on `day` (30 without one)."""
    policy = (
        GracePolicy.objects.filter(product__isnull=True, effective_from__lte=day).order_by("-effective_from").first()
    )
    return policy.cooling_off_days if policy else 30


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _past_due(days: int) -> str:
    """Loans more than `days` past due and their outstanding principal, as two SQL columns.

    By days past due rather than by bucket, so DPD1+/30+/90+ keep their meaning whatever
    bucket boundaries the admin sets.
    """
    return (
        f"SUM(CASE WHEN dpd > {days} THEN 1 ELSE 0 END), "
        f"{money(f'SUM(CASE WHEN dpd > {days} THEN outstanding_principal ELSE 0 END)')}"
    )


def snapshot_chunk(day: date, lo: int, hi: int) -> RowCounts:
    """Step 2: the day's portfolio aggregates; at month end, every open loan."""
    d = date_param()
    execute("DELETE FROM lending_portfoliosnapshot WHERE business_date = " + d, [day])
    aggregates = execute(
        f"""
        INSERT INTO lending_portfoliosnapshot (business_date, product_id, term, origination_month, bucket, loans,
                                               outstanding_principal, overdue_amount, penalty_accrued,
                                               dpd1_loans, dpd1_principal, dpd30_loans, dpd30_principal,
                                               dpd90_loans, dpd90_principal)
        SELECT {d}, product_id, term, {month_start("disbursed_on")}, bucket, COUNT(*),
               {money("SUM(outstanding_principal)")}, {money("SUM(overdue_amount)")}, {money("SUM(penalty_accrued)")},
               {_past_due(0)}, {_past_due(30)}, {_past_due(90)}
        FROM lending_loan WHERE status = 'active' AND disbursed_on <= {d}
        GROUP BY product_id, term, {month_start("disbursed_on")}, bucket
        """,
        [day, day],
    )
    loans = 0
    if is_month_end(day):
        execute("DELETE FROM lending_loanmonthsnapshot WHERE month_end = " + d, [day])
        loans = execute(
            f"""
            INSERT INTO lending_loanmonthsnapshot (month_end, loan_id, dpd, bucket, outstanding_principal, overdue_amount, status)
            SELECT {d}, id, dpd, bucket, outstanding_principal, overdue_amount, status
            FROM lending_loan WHERE (status = 'active' OR paid_off_on = {d}) AND disbursed_on <= {d}
            """,
            [day, day, day],
        )
        # A month end adds a snapshot as large as the book, and the same night's roll rates
        # join it to the month before: stale statistics planned that join 3.6x slower at a
        # million loans (bench/dashboards.py: 23.7 s, 6.6 s after an ANALYZE).
        _analyze("lending_loanmonthsnapshot")
    return {"snapshot_rows": aggregates, "month_end_loans": loans}


DAY_STATE = Step(DAY_STATE_STEP, loan_chunks, day_state_chunk, credit_lines_finish)
SNAPSHOT = Step(SNAPSHOT_STEP, lambda _: [(0, 0)], snapshot_chunk)
STEPS = [DAY_STATE, SNAPSHOT]
