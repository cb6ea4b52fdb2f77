"""Benchmark close of day step 3 (scoring) on a generated book, against scoring one loan at a time through the ORM.

    python bench/scoring.py --loans 1000000 [--sample 300] [--reuse]

Needs Postgres (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/riskdesk_bench_scoring;
the database is dropped and created unless --reuse). Steps:
  1. migrate and `generate_book --loans N` (bench/close_day.py's helpers), closed through the
     day before AS_OF. The generator leaves out what only some features read, so the book
     gets it here: a second product on a third of the loans, a fifth of the loans moved onto
     their neighbour's credit line (two loans for those borrowers), autodebit failures on
     the late loans and one loan in 25, penalty waivers on a quarter of the late loans, the
     cases step 4 opens, a broken promise on a third of them and a reaching call on half;
  2. the lending steps close AS_OF (untimed);
  3. a champion scorecard over every feature: training.fit_scorecard on 50,000 loans of
     features_frame(AS_OF, "tonight") with a SYNTHETIC target (the generated book has no
     outcomes to learn from: a logistic function of the features and a seeded random draw),
     its training shares from that sample;
  4. the phases of step 3 in this process, chunk by chunk, in a transaction rolled back:
     features (SQL, COPY out, pandas), scoring (numpy), write-back (loans, band changes,
     LoanScore, distribution counts), on the first night and again on the last;
  5. the whole step (step_run) in child processes, wall time and peak RSS: the first night
     (every loan gets its first band and a band change) with 1 worker process, then again
     with 2 sharing the chunks; the next two nights (only the loans whose score moved are
     written, the steady state) with 2 workers, then 1;
  6. the baseline, in this process: one loan at a time through the ORM (its features by ORM
     queries, one row scored, the loan saved, its history rows) on a random sample, rolled
     back; the ORM's features are checked against the SQL's for the same loans;
then prints the figures and the ratio per loan.
"""

from __future__ import annotations

import os
import sys

# bench/collections.py shares its name with the standard library's `collections`: this
# folder goes off the import path before anything imports it (see bench/close_day.py).
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != os.path.dirname(os.path.realpath(__file__))]

import argparse
import importlib.util
import json
import math
import random
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any


def _close_day_bench() -> ModuleType:
    """bench/close_day.py, for its book, database and manage helpers (loaded by path)."""
    spec = importlib.util.spec_from_file_location("bench_close_day", Path(__file__).with_name("close_day.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


close_day = _close_day_bench()
ROOT, AS_OF = close_day.ROOT, close_day.AS_OF
NEXT, AFTER = AS_OF + timedelta(days=1), AS_OF + timedelta(days=2)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/riskdesk_bench_scoring"
TRAINING_LOANS = 50_000


# -- the book -------------------------------------------------------------------------------


def enrich_book() -> dict[str, int]:
    """Give the generated book what only some features read (see the module docstring)."""
    from django.db import connection

    from riskdesk.collections.cases import CASES_STEP
    from riskdesk.core.jobs import step_run

    closed = AS_OF - timedelta(days=1)
    counts = {}
    with connection.cursor() as cursor:

        def run(name: str, sql: str, params: list[Any] | None = None) -> None:
            cursor.execute(sql, params or [])
            counts[name] = cursor.rowcount

        run(
            "second_product",
            "INSERT INTO lending_product (code, name, daily_rate, penalty_multiplier, penalty_base, methods, terms, "
            "min_amount, max_amount) SELECT 'bench2', 'Benchmark line 2', daily_rate, penalty_multiplier, "
            "penalty_base, methods, terms, min_amount, max_amount FROM lending_product WHERE code = 'bench'",
        )
        run(
            "loans_on_second_product",
            "UPDATE lending_loan SET product_id = (SELECT id FROM lending_product WHERE code = 'bench2') "
            "WHERE id %% 3 = 0",
        )
        # The generator gives loan, line and borrower the same offset: loan id - 1 is a neighbour.
        run(
            "loans_on_a_shared_line",
            "UPDATE lending_loan l SET credit_line_id = n.credit_line_id, borrower_id = n.borrower_id "
            "FROM lending_loan n WHERE n.id = l.id - 1 AND l.id %% 5 = 1",
        )
        run(
            "autodebit_failures",
            "INSERT INTO lending_autodebitfailure (loan_id, attempted_on, amount, cause, created_at) "
            "SELECT id, %s::date - (id %% 120)::int, 100.00, 'insufficient_funds', now() FROM lending_loan "
            "WHERE dpd > 0 OR id %% 25 = 0",
            [closed],
        )
        run(
            "arrangements",
            "INSERT INTO lending_loanarrangement (loan_id, kind, effective_on, months, reason, created_at) "
            "SELECT id, 'penalty_waiver', %s::date - (id %% 200)::int, NULL, 'bench', now() FROM lending_loan "
            "WHERE (dpd > 0 AND id %% 4 = 0) OR id %% 50 = 3",
            [closed],
        )
        # Cured history the generator has none of: a past 30+ episode on one current loan in 40,
        # and a closed case with a broken promise for the borrowers of one in 30.
        run(
            "past_30plus_episodes",
            'INSERT INTO lending_buckethistory (loan_id, "on", from_bucket, to_bucket, dpd) '
            "SELECT id, %s::date - 60 - (id %% 200)::int, 'M1', 'M2', 31 FROM lending_loan "
            "WHERE dpd = 0 AND id %% 40 = 7 AND disbursed_on < %s::date - 300",
            [closed, closed],
        )
        run(
            "closed_cases",
            "INSERT INTO collections_case (status, stage, worst_bucket, max_dpd, overdue_amount, expected_loss, "
            "priority, opened_on, updated_on, closed_on, close_reason, write_off_review, borrower_id) "
            "SELECT 'closed', 'early', 'M1', 20, 0, 0, 0, %s::date - 150, %s::date - 100, %s::date - 100, 'cured', "
            "'', borrower_id FROM lending_loan WHERE dpd = 0 AND id %% 30 = 11",
            [closed, closed, closed],
        )
    counts["cases_step"] = step_run(CASES_STEP, closed).rows.get("cases_opened", 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE collections_case SET opened_on = opened_on - GREATEST(max_dpd - 4, 0) WHERE status = 'open'"
        )
        cursor.execute(
            "INSERT INTO collections_promise (case_id, amount, made_on, due_on, tolerance_days, status, paid_amount, "
            "decided_on, created_at) SELECT id, 100.00, opened_on, opened_on + 7, 1, 'broken', 0, opened_on + 9, "
            "now() FROM collections_case WHERE (id %% 3 = 0 OR status = 'closed') AND opened_on + 9 <= %s::date",
            [closed],
        )
        counts["broken_promises"] = cursor.rowcount
        cursor.execute(
            "INSERT INTO collections_contactattempt (case_id, borrower_id, channel, purpose, source, at, allowed, "
            "rule, message, rule_results, outcome, note, created_at) SELECT id, borrower_id, 'phone', 'collect', "
            "'collector', (LEAST(opened_on + (id %% 20)::int, %s::date) + time '02:00') AT TIME ZONE 'UTC', true, "
            "'', '', '{}', 'right_party', '', now() FROM collections_case WHERE id %% 2 = 0 AND status = 'open'",
            [closed],
        )
        counts["contact_attempts"] = cursor.rowcount
        for table in ("lending_loan", "lending_autodebitfailure", "lending_loanarrangement", "collections_case"):
            cursor.execute(f"ANALYZE {table}")
    return counts


def close_lending(day: date) -> float:
    """Steps 1-2 of `day` (untimed in the figures; returned for the record)."""
    from riskdesk.core.jobs import step_run
    from riskdesk.lending.closeday import STEPS

    started = time.perf_counter()
    for step in STEPS:
        step_run(step, day)
    return time.perf_counter() - started


# -- the champion ---------------------------------------------------------------------------


def synthetic_target(frame: Any, seed: int = 11) -> Any:
    """1 = bad, drawn from a logistic function of every feature (the book has no outcomes)."""
    import numpy as np

    x = frame
    z = (
        -3.2
        + 0.035 * x["dpd"]
        + 0.01 * x["max_dpd_12m"]
        + 1.0 * x["times_30plus_12m"]
        - 0.12 * x["months_on_book"]
        + 1.2 * x["utilisation"].fillna(0.5)
        + 0.5 * (x["active_loans"] - 1)
        - 1.5 * x["paid_due_ratio_3m"].fillna(0.6)
        + 0.02 * x["days_since_payment"].fillna(45)
        + 0.5 * x["autodebit_failures_90d"]
        + 1.0 * x["broken_promises_12m"]
        + 0.03 * x["days_unreachable"]
        + 0.8 * x["arrangements"]
        + 0.00002 * x["outstanding_principal"]
        + 0.7 * (x["product"] == "bench2")
        + 0.6 * (x["term"] == "12")
        + 1.5 * (x["segment"] == "over_30")
        + 0.01 * (x["max_dpd_3m"] + x["max_dpd_6m"])
    ).to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    return (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(np.int64)


def make_champion() -> tuple[Any, float]:
    """Fit, freeze and promote a scorecard over every feature; return it and the fit's seconds."""
    from riskdesk.riskmodels import training
    from riskdesk.riskmodels.features import FEATURES, features_frame
    from riskdesk.riskmodels.models import ModelVersion
    from riskdesk.riskmodels.scorecard import Scorecard

    ModelVersion.objects.all().delete()
    started = time.perf_counter()
    frame = features_frame(AS_OF, base="tonight", lo=1, hi=TRAINING_LOANS)
    y = synthetic_target(frame)
    fitted = training.fit_scorecard(frame, y, FEATURES, scaling=training.Scaling.from_settings())
    spec = fitted.spec()
    card = Scorecard.from_spec(spec)
    version = ModelVersion.objects.create(
        version=1,
        status=ModelVersion.Status.CHAMPION,
        base_score=Decimal("600"),
        base_odds=Decimal("50"),
        pdo=Decimal("20"),
        training_start=AS_OF,
        training_end=AS_OF,
        spec=spec,
        training_distribution=training.distribution_shares(card, card.score(frame)),
        note="bench: synthetic target on 50,000 loans",
    )
    return version, time.perf_counter() - started


# -- the step -------------------------------------------------------------------------------


def phases(day: date) -> dict[str, float]:
    """Step 3's chunks in this process, each phase timed; rolled back."""
    from django.db import transaction

    from riskdesk.riskmodels import scoring
    from riskdesk.riskmodels.features import scoring_frame

    timings = {"features": 0.0, "scoring": 0.0, "write_back": 0.0}
    with transaction.atomic():
        models = scoring.live_models()
        for lo, hi in scoring.scoring_chunks(day):
            started = time.perf_counter()
            frame, current = scoring_frame(day, lo=lo, hi=hi)
            scored_at = time.perf_counter()
            scored = [(model, model.card.score(frame)) for model in models]
            # The reason codes are part of scoring (the scorer's cached property).
            for _, scores in scored:
                scores.reason_codes  # noqa: B018
            written_at = time.perf_counter()
            scoring.scores_write(day, frame, current, scored, lo=lo, hi=hi)
            done = time.perf_counter()
            timings["features"] += scored_at - started
            timings["scoring"] += written_at - scored_at
            timings["write_back"] += done - written_at
        transaction.set_rollback(True)
    return timings


STEP_AND_MEASURE = """
import json, resource, time, django
django.setup()
from datetime import date
from riskdesk.core.jobs import step_run
from riskdesk.riskmodels.scoring import SCORING_STEP
started = time.perf_counter()
run = step_run(SCORING_STEP, date.fromisoformat({day!r}))
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": run.rows,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def step_in_children(day: date, workers: int, env: dict[str, str]) -> dict[str, Any]:
    """Run step 3 for `day` in `workers` processes at once; wall time, rows, each one's peak RSS."""
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", STEP_AND_MEASURE.format(day=day.isoformat())],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    outputs = [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]
    if any(child.returncode for child in children):
        raise SystemExit("a scoring worker failed")
    return {
        "seconds": time.perf_counter() - started,
        "rows": outputs[0]["rows"],
        "peak_rss_mb": max(o["peak_rss_mb"] for o in outputs),
    }


def forget_night(day: date) -> None:
    """Undo step 3 of `day` (and every band on the loans), so the first night can be run again."""
    from django.db import connection

    from riskdesk.core.models import JobRun

    JobRun.objects.filter(step="riskmodels.scoring", business_date=day).delete()
    with connection.cursor() as cursor:
        for table, column in (
            ("riskmodels_bandchange", '"on"'),
            ("riskmodels_loanscore", "business_date"),
            ("riskmodels_scoredistribution", "business_date"),
            ("riskmodels_modelmonitor", "business_date"),
        ):
            cursor.execute(f"DELETE FROM {table} WHERE {column} >= %s", [day])
        cursor.execute(
            "UPDATE lending_loan SET risk_band = '', risk_pd = NULL, risk_score = NULL, risk_reasons = '' "
            "WHERE risk_band <> ''"
        )
        cursor.execute("VACUUM ANALYZE lending_loan")


# -- the baseline ---------------------------------------------------------------------------


def features_by_orm(loan: Any, day: date, bucket_min: dict[str, int]) -> dict[str, Any]:
    """One loan's features the plain way: the ORM, one query after another, the rules in Python."""
    from django.db.models import Max, Q, Sum

    from riskdesk.collections.models import Case, ContactAttempt, Promise
    from riskdesk.lending.models import AutodebitFailure, CreditLineEvent, Loan, LoanArrangement
    from riskdesk.riskmodels.features import REACHING_OUTCOMES

    arrangements_on = dict(LoanArrangement.objects.filter(loan=loan).values_list("id", "effective_on"))
    late: list[tuple[int, date]] = []
    due_3m = Decimal(0)
    for inst in loan.installments.all():
        if inst.due_date > day or (inst.arrangement_id and arrangements_on[inst.arrangement_id] > day):
            continue
        settled = inst.pi_settled_on or inst.superseded_on
        if inst.due_date > day - timedelta(days=90):
            due_3m += inst.principal_due + inst.interest_due
        if inst.due_date < day and (settled is None or settled > inst.due_date):
            last = day if settled is None or settled > day else settled - timedelta(days=1)
            late.append(((last - inst.due_date).days, last))

    def max_dpd(window: int) -> float:
        start = day - timedelta(days=window)
        return float(max([loan.dpd, *(days for days, last in late if days >= 1 and last > start)]))

    payments = list(loan.payments.filter(status="posted", value_date__lte=day).values_list("value_date", "amount"))
    paid_3m = sum((a for v, a in payments if v > day - timedelta(days=90)), Decimal(0))
    last_paid = max((v for v, _ in payments), default=None)
    history = loan.bucket_history.filter(on__gt=day - timedelta(days=365), on__lte=day)
    times = sum(1 for h in history if bucket_min[h.to_bucket] >= 31 > bucket_min[h.from_bucket])
    base = Loan.objects.filter(borrower_id=loan.borrower_id, status="active", disbursed_on__lte=day)
    drawn = base.filter(credit_line_id=loan.credit_line_id).aggregate(s=Sum("outstanding_principal"))["s"]
    events = CreditLineEvent.objects.filter(credit_line_id=loan.credit_line_id, kind="limit_change")
    before = events.filter(on__lte=day).order_by("-on", "-id").first()
    after = events.filter(on__gt=day).order_by("on", "id").first()
    limit = before.limit_after if before else after.limit_before if after else loan.credit_line.limit
    case = (
        Case.objects.filter(borrower_id=loan.borrower_id, opened_on__lte=day)
        .filter(Q(closed_on__isnull=True) | Q(closed_on__gt=day))
        .order_by("-opened_on")
        .first()
    )
    unreachable = 0
    if case is not None:
        reached = ContactAttempt.objects.filter(
            borrower_id=loan.borrower_id,
            allowed=True,
            outcome__in=REACHING_OUTCOMES,
            at__lt=datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
        ).aggregate(at=Max("at"))["at"]
        reached_on = reached.astimezone(UTC).date() if reached else None
        unreachable = (day - max(case.opened_on, reached_on or case.opened_on)).days
    return {
        "segment": "over_30" if loan.dpd > 30 else "to_30",
        "dpd": float(loan.dpd),
        "max_dpd_3m": max_dpd(90),
        "max_dpd_6m": max_dpd(180),
        "max_dpd_12m": max_dpd(365),
        "times_30plus_12m": float(times),
        "months_on_book": float((day - loan.disbursed_on).days // 30),
        "utilisation": float(drawn / limit) if limit else math.nan,
        "active_loans": float(base.count()),
        "paid_due_ratio_3m": float(paid_3m / due_3m) if due_3m else math.nan,
        "days_since_payment": float((day - last_paid).days) if last_paid else math.nan,
        "autodebit_failures_90d": float(
            AutodebitFailure.objects.filter(
                loan=loan, attempted_on__gt=day - timedelta(days=90), attempted_on__lte=day
            ).count()
        ),
        "broken_promises_12m": float(
            Promise.objects.filter(
                case__borrower_id=loan.borrower_id,
                status="broken",
                decided_on__gt=day - timedelta(days=365),
                decided_on__lte=day,
            ).count()
        ),
        "days_unreachable": float(unreachable),
        "arrangements": float(LoanArrangement.objects.filter(loan=loan, effective_on__lte=day).count()),
        "outstanding_principal": float(loan.outstanding_principal),
        "product": loan.product.code,
        "term": str(loan.term),
    }


def orm_baseline(day: date, sample: int, seed: int = 7) -> tuple[int, float, int]:
    """Step 3 for `sample` random loans, one at a time through the ORM; rolled back.

    Returns (loans, seconds, loans whose ORM features differ from the SQL's).
    """
    import pandas as pd
    from django.db import transaction

    from riskdesk.lending.models import Bucket, Loan
    from riskdesk.riskmodels.features import FEATURE_CODES, features_frame
    from riskdesk.riskmodels.models import BandChange, LoanScore
    from riskdesk.riskmodels.scoring import live_models

    model = live_models()[0]
    ids = list(Loan.objects.filter(status="active").values_list("id", flat=True))
    chosen = random.Random(seed).sample(ids, min(sample, len(ids)))
    bucket_min = dict(Bucket.objects.values_list("code", "min_dpd"))
    rows = {}
    started = time.perf_counter()
    with transaction.atomic():
        for loan_id in chosen:
            loan = Loan.objects.select_related("product", "credit_line").get(pk=loan_id)
            features = features_by_orm(loan, day, bucket_min)
            rows[loan_id] = features
            scores = model.card.score(pd.DataFrame([features], columns=list(FEATURE_CODES)))
            band, pd_, points = str(scores.band[0]), round(float(scores.pd[0]), 6), round(float(scores.points[0]), 2)
            if band != loan.risk_band:
                BandChange.objects.update_or_create(
                    on=day,
                    loan=loan,
                    defaults={"model_version": model.version, "from_band": loan.risk_band, "to_band": band},
                )
            if loan.dpd > 0 or features["days_unreachable"] or features["broken_promises_12m"]:
                LoanScore.objects.update_or_create(
                    business_date=day,
                    loan=loan,
                    model_version=model.version,
                    defaults={"score": points, "pd": pd_, "band": band, "reasons": scores.reasons(0)},
                )
            loan.risk_band, loan.risk_pd, loan.risk_score = band, pd_, points
            loan.risk_reasons = scores.reason_codes[0]
            loan.save(update_fields=["risk_band", "risk_pd", "risk_score", "risk_reasons"])
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    sql = features_frame(day, base="tonight")
    orm = pd.DataFrame.from_dict(rows, orient="index")[list(FEATURE_CODES)]
    differ = sum(1 for loan_id in chosen if not _same(orm.loc[loan_id], sql.loc[loan_id]))
    return len(chosen), elapsed, differ


def _same(a: Any, b: Any) -> bool:
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if not (math.isclose(x, y, rel_tol=1e-9) or (math.isnan(x) and math.isnan(y))):
                return False
        elif x != y:
            return False
    return True


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=300, help="loans in the ORM baseline")
    parser.add_argument("--reuse", action="store_true", help="keep the generated and enriched book")
    args = parser.parse_args()

    url, env = close_day.bench_environment(DEFAULT_URL, AFTER + timedelta(days=1))
    if not args.reuse:
        close_day.recreate_database(url)
        close_day.manage("migrate", "--verbosity", "0", env=env)
        started = time.perf_counter()
        close_day.manage(
            "generate_book", "--loans", str(args.loans), "--as-of", AS_OF.isoformat(), "--verbosity", "0", env=env
        )
        print(f"generate_book --loans {args.loans}: {time.perf_counter() - started:.1f} s")
    import django

    django.setup()
    from riskdesk.core.models import JobRun
    from riskdesk.lending.models import Loan, Product

    if not Product.objects.filter(code="bench2").exists():
        print(f"book enriched: {enrich_book()}")
        print(f"lending steps for {AS_OF}: {close_lending(AS_OF):.1f} s")
    JobRun.objects.filter(business_date__gte=NEXT).delete()
    forget_night(AS_OF)
    version, fit_seconds = make_champion()
    selected = [f["code"] for f in version.spec["features"]]
    print(f"champion: {len(selected)} features {selected}, fitted in {fit_seconds:.1f} s")

    loans = Loan.objects.filter(status="active").count()
    timed = phases(AS_OF)
    first = step_in_children(AS_OF, 1, env)
    forget_night(AS_OF)
    first_two = step_in_children(AS_OF, 2, env)
    print(f"lending steps for {NEXT}: {close_lending(NEXT):.1f} s")
    next_two = step_in_children(NEXT, 2, env)
    print(f"lending steps for {AFTER}: {close_lending(AFTER):.1f} s")
    timed_after = phases(AFTER)
    after_one = step_in_children(AFTER, 1, env)
    sampled, orm_seconds, differ = orm_baseline(AFTER, args.sample)

    per_loan = after_one["seconds"] / loans
    per_loan_orm = orm_seconds / sampled
    print(f"book: {loans} active loans; scored on {AS_OF} (first night), {NEXT} and {AFTER}")
    for label, run in ((f"{AS_OF} first night", timed), (f"{AFTER} next night ", timed_after)):
        print(
            f"phases, in process, {label}: features {run['features']:.2f} s, scoring {run['scoring']:.2f} s, "
            f"write-back {run['write_back']:.2f} s (scoring + write-back {run['scoring'] + run['write_back']:.2f} s)"
        )
    for label, run in (
        (f"{AS_OF} first night, 1 worker ", first),
        (f"{AS_OF} first night, 2 workers", first_two),
        (f"{NEXT} next night, 2 workers  ", next_two),
        (f"{AFTER} next night, 1 worker   ", after_one),
    ):
        print(f"step 3, {label}: {run['seconds']:.2f} s, peak RSS {run['peak_rss_mb']:.0f} MB, {run['rows']}")
    print(f"ORM loop baseline: {sampled} loans in {orm_seconds:.2f} s, {per_loan_orm * 1e3:.1f} ms/loan")
    print(f"ORM features equal to the SQL's: {sampled - differ} of {sampled} loans")
    print(
        f"per loan: set-based {per_loan * 1e6:.1f} us (a next night, 1 worker), "
        f"ratio ORM / set-based {per_loan_orm / per_loan:.0f}x"
    )


if __name__ == "__main__":
    main()
