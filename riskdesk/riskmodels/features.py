"""The scorecard's features, as of a business date, computed set-based in SQL.

The catalogue below is the contract between training, nightly scoring, reason codes
and the pages: a feature's code is its column in the frame, its words say what it
means to a collector. Every feature is "as of D": only facts dated on or before D
count (payments by value date, installments by due and settlement date, bucket
changes, collections events), so the same SQL builds training rows at past month
ends and scores the book tonight.

Two bases give the loans and their state at D:
  * `tonight`: open loans in `lending_loan` (dpd, outstanding principal as of the
    last close, which is D when step 3 runs);
  * `month_end`: the loans of `lending_loanmonthsnapshot` at month end D (the state
    close of day froze that night), which is how training sees the past.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction

from riskdesk.core.sql import date_param, days_between, is_postgres
from riskdesk.core.vocabulary import label


@dataclass(frozen=True)
class Feature:
    code: str
    kind: str  # "numerical" or "categorical"
    # optbinning's monotonic_trend for numerical features ("ascending": the bad rate
    # rises with the value); "auto_asc_desc" where no direction is obvious.
    trend: str = "auto_asc_desc"

    @property
    def label(self) -> Any:
        """The desk's words for it (core.vocabulary), which are also the loan's risk reasons."""
        return label(self.code)


FEATURES: tuple[Feature, ...] = (
    Feature("segment", "categorical"),
    Feature("dpd", "numerical", "ascending"),
    Feature("max_dpd_3m", "numerical", "ascending"),
    Feature("max_dpd_6m", "numerical", "ascending"),
    Feature("max_dpd_12m", "numerical", "ascending"),
    Feature("times_30plus_12m", "numerical", "ascending"),
    Feature("months_on_book", "numerical", "auto_asc_desc"),
    Feature("utilisation", "numerical", "ascending"),
    Feature("active_loans", "numerical", "ascending"),
    Feature("paid_due_ratio_3m", "numerical", "descending"),
    Feature("days_since_payment", "numerical", "ascending"),
    Feature("autodebit_failures_90d", "numerical", "ascending"),
    Feature("broken_promises_12m", "numerical", "ascending"),
    Feature("days_unreachable", "numerical", "ascending"),
    Feature("arrangements", "numerical", "ascending"),
    Feature("outstanding_principal", "numerical", "auto_asc_desc"),
    Feature("product", "categorical"),
    Feature("term", "categorical"),
)
FEATURE_CODES: tuple[str, ...] = tuple(f.code for f in FEATURES)
FEATURES_BY_CODE: dict[str, Feature] = {f.code: f for f in FEATURES}

# -- the features in SQL ------------------------------------------------------------------

# A target's horizon by segment: up to 30 days past due, reaching 31+ within 60 days; past
# 30, rolling to a worse bucket within 30 days. An observation month end D is matured once
# D + the longest horizon is closed.
HORIZON_DAYS = {"to_30": 60, "over_30": 30}
MATURITY_DAYS = max(HORIZON_DAYS.values())
BASES = ("tonight", "month_end")
# Contact outcomes that reached the borrower (days_unreachable counts from the last one).
REACHING_OUTCOMES = ("right_party", "promise_to_pay", "refusal", "dispute", "cease_request", "hardship_request")
SERIOUS_DPD = 31


def is_matured(observation: date, closed_through: date) -> bool:
    """Whether every outcome of month end `observation` is known once `closed_through` is closed."""
    return observation + timedelta(days=MATURITY_DAYS) <= closed_through


def features_frame(as_of: date, *, base: str, lo: int | None = None, hi: int | None = None) -> pd.DataFrame:
    """Return the features of the base's loans as of `as_of`: index loan_id, columns FEATURE_CODES.

    One SQL statement (the module docstring names the bases; the issue's table defines each
    feature). Numerical columns are float64 with NaN for missing, categorical ones text.
    `lo`/`hi` restrict the loans to an id range (both inclusive), for close-of-day chunks;
    borrower and credit-line features still count the borrower's loans outside it.
    """
    if base not in BASES:
        raise ValueError(f"base must be one of {BASES}, not {base!r}")
    sql, params = _features_sql(as_of, base, lo, hi)
    with _planned_for_features():
        frame = read_frame(sql, params, text_columns=("segment", "product", "term"))
    return _typed(frame.set_index("loan_id"))


# What the champion last wrote onto each loan, read beside tonight's features by the
# scoring step so that only the loans whose score moved are written back.
CURRENT_RISK = ("risk_band", "risk_pd", "risk_score", "risk_reasons")


def scoring_frame(as_of: date, *, lo: int, hi: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return tonight's features of loans lo..hi and, in the same statement, their CURRENT_RISK.

    The features are features_frame(as_of, base="tonight", lo=lo, hi=hi); the second frame
    has the same index, risk_pd and risk_score as float64 (NaN: never scored).
    """
    sql, params = _features_sql(as_of, "tonight", lo, hi, current_risk=True)
    with _planned_for_features():
        frame = read_frame(sql, params, text_columns=("segment", "product", "term", "risk_band", "risk_reasons"))
    frame = frame.set_index("loan_id")
    current = frame[list(CURRENT_RISK)].copy()
    current["risk_band"] = current["risk_band"].fillna("").astype(str)
    current["risk_reasons"] = current["risk_reasons"].fillna("").astype(str)
    current["risk_pd"] = pd.to_numeric(current["risk_pd"]).astype(np.float64)
    current["risk_score"] = pd.to_numeric(current["risk_score"]).astype(np.float64)
    current.index = current.index.astype(np.int64)
    return _typed(frame), current


def outcomes_frame(observation: date, *, lo: int | None = None, hi: int | None = None) -> pd.DataFrame:
    """Return the target of the month-end loans at `observation`: index loan_id, columns segment and bad.

    to_30 (dpd <= 30 at D): bad when a bucket history row dated in (D, D + 60] enters a
    bucket whose min_dpd >= 31. over_30: bad when one dated in (D, D + 30] enters a bucket
    with a higher min_dpd than the loan's bucket at D. A loan in the last bucket (no
    max_dpd: M7+ by default) cannot roll to a worse one, so its outcome is not observable:
    bad is NaN, and training and monitoring leave it out.
    """
    params = {
        "d": observation,
        "d_short": observation + timedelta(days=HORIZON_DAYS["over_30"]),
        "d_long": observation + timedelta(days=HORIZON_DAYS["to_30"]),
        "lo": lo,
        "hi": hi,
    }
    in_range = _id_range("s.loan_id", lo, hi)
    sql = f"""
        WITH moves AS (
            SELECT h.loan_id,
                   MAX(CASE WHEN h."on" <= {date_param("d_short")} THEN t.min_dpd END) AS worst_short,
                   MAX(t.min_dpd) AS worst_long
            FROM lending_buckethistory h JOIN lending_bucket t ON t.code = h.to_bucket
            WHERE h."on" > {date_param("d")} AND h."on" <= {date_param("d_long")} {_id_range("h.loan_id", lo, hi)}
            GROUP BY h.loan_id
        )
        SELECT s.loan_id,
               CASE WHEN s.dpd > 30 THEN 'over_30' ELSE 'to_30' END AS segment,
               CASE WHEN s.dpd > 30 THEN
                        CASE WHEN b.code IS NOT NULL AND b.max_dpd IS NULL THEN NULL
                             WHEN m.worst_short > COALESCE(b.min_dpd, 0) THEN 1 ELSE 0 END
                    ELSE CASE WHEN m.worst_long >= {SERIOUS_DPD} THEN 1 ELSE 0 END
               END AS bad
        FROM lending_loanmonthsnapshot s
        LEFT JOIN lending_bucket b ON b.code = s.bucket
        LEFT JOIN moves m ON m.loan_id = s.loan_id
        WHERE s.month_end = {date_param("d")} AND s.status = 'active' {in_range}
        ORDER BY s.loan_id
    """
    frame = read_frame(sql, params, text_columns=("segment",)).set_index("loan_id")
    frame.index = frame.index.astype(np.int64)
    frame["segment"] = frame["segment"].astype(str)
    frame["bad"] = frame["bad"].astype(np.float64)  # NaN: not observable
    return frame


def _id_range(column: str, lo: int | None, hi: int | None) -> str:
    return f"AND {column} BETWEEN %(lo)s AND %(hi)s" if lo is not None and hi is not None else ""


def _greatest(*expressions: str) -> str:
    """The largest of non-null expressions (SQLite's scalar MAX, Postgres' GREATEST)."""
    return f"{'GREATEST' if is_postgres() else 'MAX'}({', '.join(expressions)})"


def _utc_date(timestamp: str) -> str:
    # Postgres keeps timestamptz; SQLite keeps Django's UTC text "YYYY-MM-DD HH:MM:SS".
    return f"({timestamp} AT TIME ZONE 'UTC')::date" if is_postgres() else f"date({timestamp})"


def _base_sql(base: str) -> str:
    """The base's loans at D with their state (dpd, bucket, outstanding principal) at D."""
    d = date_param("d")
    if base == "tonight":
        return f"""
            SELECT l.id AS loan_id, l.borrower_id, l.credit_line_id, l.product_id, l.term, l.disbursed_on,
                   l.dpd, l.outstanding_principal, {", ".join(f"l.{c}" for c in CURRENT_RISK)}
            FROM lending_loan l WHERE l.status = 'active' AND l.disbursed_on <= {d}
        """
    return f"""
        SELECT s.loan_id, l.borrower_id, l.credit_line_id, l.product_id, l.term, l.disbursed_on,
               s.dpd, s.outstanding_principal
        FROM lending_loanmonthsnapshot s JOIN lending_loan l ON l.id = s.loan_id
        WHERE s.month_end = {d} AND s.status = 'active'
    """


def _features_sql(
    as_of: date, base: str, lo: int | None, hi: int | None, *, current_risk: bool = False
) -> tuple[str, dict[str, Any]]:
    params = {
        "d": as_of,
        "d90": as_of - timedelta(days=90),
        "d365": as_of - timedelta(days=365),
        "lo": lo,
        "hi": hi,
    }
    d, d90, d365 = date_param("d"), date_param("d90"), date_param("d365")
    loans_in = _id_range("{}", lo, hi)  # every per-loan table is read by the chunk's id range
    settled = "COALESCE(i.pi_settled_on, i.superseded_on)"
    still_late = f"({settled} IS NULL OR {settled} > {d})"
    sql = f"""
        WITH base AS NOT MATERIALIZED ({_base_sql(base)}),
        chunk AS NOT MATERIALIZED (SELECT * FROM base WHERE 1 = 1 {_id_range("loan_id", lo, hi)}),
        installment_late AS (
            -- Each installment due before D and not settled on its due date: the last day
            -- it was late (D while still unpaid), as days late then and days before D.
            SELECT i.loan_id, i.due_date, i.principal_due, i.interest_due,
                   CASE WHEN i.due_date < {d} AND ({settled} IS NULL OR {settled} > i.due_date) THEN
                        CASE WHEN {still_late} THEN {days_between(d, "i.due_date")}
                             ELSE {days_between(settled, "i.due_date")} - 1 END
                   END AS lateness,
                   CASE WHEN {still_late} THEN 0 ELSE {days_between(d, settled)} + 1 END AS days_before
            FROM lending_installment i
            WHERE i.due_date <= {d} {loans_in.format("i.loan_id")}
              AND (i.arrangement_id IS NULL OR EXISTS (
                  SELECT 1 FROM lending_loanarrangement a WHERE a.id = i.arrangement_id AND a.effective_on <= {d}))
              AND (i.due_date > {d90} OR {settled} IS NULL OR {settled} > i.due_date)
        ),
        installments AS (
            SELECT loan_id,
                   MAX(CASE WHEN lateness >= 1 AND days_before < 90 THEN lateness END) AS late_3m,
                   MAX(CASE WHEN lateness >= 1 AND days_before < 180 THEN lateness END) AS late_6m,
                   MAX(CASE WHEN lateness >= 1 AND days_before < 365 THEN lateness END) AS late_12m,
                   SUM(CASE WHEN due_date > {d90} THEN principal_due + interest_due END) AS due_3m
            FROM installment_late GROUP BY loan_id
        ),
        payments AS (
            SELECT p.loan_id, SUM(CASE WHEN p.value_date > {d90} THEN p.amount END) AS paid_3m,
                   MAX(p.value_date) AS last_paid_on
            FROM lending_payment p
            WHERE p.status = 'posted' AND p.value_date <= {d} {loans_in.format("p.loan_id")}
            GROUP BY p.loan_id
        ),
        entered_30plus AS (
            SELECT h.loan_id, COUNT(*) AS times
            FROM lending_buckethistory h
            JOIN lending_bucket t ON t.code = h.to_bucket
            JOIN lending_bucket f ON f.code = h.from_bucket
            WHERE h."on" > {d365} AND h."on" <= {d} AND t.min_dpd >= {SERIOUS_DPD} AND f.min_dpd < {SERIOUS_DPD}
                  {loans_in.format("h.loan_id")}
            GROUP BY h.loan_id
        ),
        autodebit AS (
            SELECT f.loan_id, COUNT(*) AS failures FROM lending_autodebitfailure f
            WHERE f.attempted_on > {d90} AND f.attempted_on <= {d} {loans_in.format("f.loan_id")}
            GROUP BY f.loan_id
        ),
        arrangements AS (
            SELECT a.loan_id, COUNT(*) AS arrangements FROM lending_loanarrangement a
            WHERE a.effective_on <= {d} {loans_in.format("a.loan_id")}
            GROUP BY a.loan_id
        ),
        borrower_book AS (
            -- Every base loan of the chunk's borrowers (some lie outside the chunk), with
            -- the borrower's loan count and the principal drawn on its line.
            SELECT b.loan_id, b.credit_line_id,
                   COUNT(*) OVER (PARTITION BY b.borrower_id) AS active_loans,
                   SUM(b.outstanding_principal) OVER (PARTITION BY b.credit_line_id) AS drawn
            FROM base b WHERE b.borrower_id IN (SELECT borrower_id FROM chunk)
        ),
        limit_changes AS (
            SELECT e.credit_line_id, e.limit_after,
                   ROW_NUMBER() OVER (PARTITION BY e.credit_line_id ORDER BY e."on" DESC, e.id DESC) AS latest_first
            FROM lending_creditlineevent e
            WHERE e.kind = 'limit_change' AND e."on" <= {d} AND e.credit_line_id IN (SELECT credit_line_id FROM chunk)
        ),
        later_limit_changes AS (
            SELECT e.credit_line_id, e.limit_before,
                   ROW_NUMBER() OVER (PARTITION BY e.credit_line_id ORDER BY e."on", e.id) AS earliest_first
            FROM lending_creditlineevent e
            WHERE e.kind = 'limit_change' AND e."on" > {d} AND e.credit_line_id IN (SELECT credit_line_id FROM chunk)
        ),
        line_limit AS (
            -- The limit in force at D: set by the last change on or before D, else the one
            -- the first later change replaced, else the current limit.
            SELECT cl.id AS credit_line_id, COALESCE(b.limit_after, a.limit_before, cl."limit") AS line_limit
            FROM lending_creditline cl
            LEFT JOIN limit_changes b ON b.credit_line_id = cl.id AND b.latest_first = 1
            LEFT JOIN later_limit_changes a ON a.credit_line_id = cl.id AND a.earliest_first = 1
            WHERE cl.id IN (SELECT credit_line_id FROM chunk)
        ),
        broken_promises AS (
            SELECT c.borrower_id, COUNT(*) AS broken
            FROM collections_promise p JOIN collections_case c ON c.id = p.case_id
            WHERE p.status = 'broken' AND p.decided_on > {d365} AND p.decided_on <= {d}
            GROUP BY c.borrower_id
        ),
        open_case AS (
            SELECT c.borrower_id, MAX(c.opened_on) AS opened_on FROM collections_case c
            WHERE c.opened_on <= {d} AND (c.closed_on IS NULL OR c.closed_on > {d})
            GROUP BY c.borrower_id
        ),
        reached AS (
            SELECT a.borrower_id, MAX({_utc_date("a.at")}) AS reached_on
            FROM collections_contactattempt a
            WHERE a.allowed AND a.outcome IN ({", ".join(f"'{o}'" for o in REACHING_OUTCOMES)})
              AND a.borrower_id IN (SELECT borrower_id FROM open_case)
              AND {_utc_date("a.at")} <= {d}
            GROUP BY a.borrower_id
        )
        SELECT c.loan_id,
               CASE WHEN c.dpd > 30 THEN 'over_30' ELSE 'to_30' END AS segment,
               c.dpd,
               {_greatest("c.dpd", "COALESCE(i.late_3m, 0)")} AS max_dpd_3m,
               {_greatest("c.dpd", "COALESCE(i.late_6m, 0)")} AS max_dpd_6m,
               {_greatest("c.dpd", "COALESCE(i.late_12m, 0)")} AS max_dpd_12m,
               COALESCE(t.times, 0) AS times_30plus_12m,
               {days_between(d, "c.disbursed_on")} / 30 AS months_on_book,
               CASE WHEN ll.line_limit > 0 THEN 1.0 * bb.drawn / ll.line_limit END AS utilisation,
               bb.active_loans,
               CASE WHEN i.due_3m > 0 THEN 1.0 * COALESCE(p.paid_3m, 0) / i.due_3m END AS paid_due_ratio_3m,
               {days_between(d, "p.last_paid_on")} AS days_since_payment,
               COALESCE(ad.failures, 0) AS autodebit_failures_90d,
               COALESCE(bp.broken, 0) AS broken_promises_12m,
               CASE WHEN oc.opened_on IS NULL THEN 0
                    ELSE {days_between(d, "CASE WHEN r.reached_on > oc.opened_on THEN r.reached_on ELSE oc.opened_on END")}
               END AS days_unreachable,
               COALESCE(ar.arrangements, 0) AS arrangements,
               c.outstanding_principal,
               pr.code AS product,
               c.term{"".join(f", c.{column}" for column in CURRENT_RISK) if current_risk else ""}
        FROM chunk c
        JOIN lending_product pr ON pr.id = c.product_id
        LEFT JOIN installments i ON i.loan_id = c.loan_id
        LEFT JOIN payments p ON p.loan_id = c.loan_id
        LEFT JOIN entered_30plus t ON t.loan_id = c.loan_id
        LEFT JOIN autodebit ad ON ad.loan_id = c.loan_id
        LEFT JOIN arrangements ar ON ar.loan_id = c.loan_id
        JOIN borrower_book bb ON bb.loan_id = c.loan_id
        LEFT JOIN line_limit ll ON ll.credit_line_id = c.credit_line_id
        LEFT JOIN broken_promises bp ON bp.borrower_id = c.borrower_id
        LEFT JOIN open_case oc ON oc.borrower_id = c.borrower_id
        LEFT JOIN reached r ON r.borrower_id = c.borrower_id
        ORDER BY c.loan_id
    """
    return sql, params


# Postgres planner settings for the features statement: its dozen per-loan aggregates
# stream best as ordered index scans merged on loan_id; left to itself the planner hashes
# the accumulated wide rows join after join (several times slower at a million loans),
# and JIT compiling the statement costs more than it saves. No parallel workers: close of
# day shares its chunks between worker processes, which already keep the cores busy.
FEATURES_PLANNER = {
    "jit": "off",
    "enable_hashjoin": "off",
    "enable_hashagg": "off",
    "max_parallel_workers_per_gather": "0",
    "work_mem": "'256MB'",
}


@contextmanager
def _planned_for_features() -> Iterator[None]:
    """Apply FEATURES_PLANNER for one statement (Postgres), in a transaction, then restore it."""
    if not is_postgres():
        yield
        return
    # A failure rolls the savepoint back, and the settings with it.
    with transaction.atomic(), connection.cursor() as cursor:
        for name, value in FEATURES_PLANNER.items():
            cursor.execute(f"SET LOCAL {name} = {value}")
        yield
        for name in FEATURES_PLANNER:
            cursor.execute(f"SET LOCAL {name} TO DEFAULT")


def read_frame(sql: str, params: dict[str, Any], *, text_columns: tuple[str, ...]) -> pd.DataFrame:
    """Run a SELECT into a DataFrame: COPY ... TO STDOUT on Postgres (fast), a plain fetch on SQLite."""
    with connection.cursor() as cursor:
        if is_postgres():
            raw = cursor.cursor
            buffer = io.BytesIO()
            raw.copy_expert(f"COPY ({raw.mogrify(sql, params).decode()}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer)
            buffer.seek(0)
            return pd.read_csv(buffer, dtype=dict.fromkeys(text_columns, object))
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=columns, coerce_float=True)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's contract: int64 index loan_id, FEATURE_CODES in order, float64 or text."""
    frame.index = frame.index.astype(np.int64)
    frame.index.name = "loan_id"
    for feature in FEATURES:
        column = frame[feature.code]
        if feature.kind == "numerical":
            frame[feature.code] = pd.to_numeric(column, errors="raise").astype(np.float64)
        else:
            frame[feature.code] = column.astype(str)
    return frame[list(FEATURE_CODES)]
