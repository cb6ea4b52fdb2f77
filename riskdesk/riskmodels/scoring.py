"""Close of day step 3 (`riskmodels.scoring`): score the book with every live scorecard.

Per id-range chunk of active loans, for business date D (after the lending steps):
  * the features as of D (features.features_frame, base "tonight"), one SQL statement;
  * every live model scores them (scorecard.Scorecard, numpy): the champion and each challenger;
  * the champion's band, PD, score and reason codes go onto the loans whose values changed
    (one UPDATE ... FROM a temp table), with a BandChange row for each change of band
    (from '' when the loan is first scored: not a downgrade);
  * LoanScore rows of every model for the loans in collections (days past due, or the
    borrower has a case open at D), and at month end for every loan scored: storage grows
    with delinquency, not with the book x days;
  * ScoreDistribution counts (score bins, feature bins, bands) added in the chunk's own
    transaction, so monitoring reads a few hundred rows, never the book.
The step's finish writes the monitoring rows (monitoring.py) and cuts the credit limits
that the limit policy in force ties to today's champion downgrades.

A chunk's work commits with its job chunk (core.jobs), so a crashed chunk leaves nothing;
LoanScore rows are replaced per (model, date, id range), band changes upserted per (loan,
date), and a fresh run of a date starts its distribution counts from zero, so running a
date again never duplicates a row. No champion: the step records {"scored": 0} and does
nothing else.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.db.models import Max, Min, Sum

from riskdesk.core.dates import is_month_end
from riskdesk.core.jobs import RowCounts, Step, id_ranges
from riskdesk.core.money import quantize_money
from riskdesk.core.sql import date_param, is_postgres
from riskdesk.lending.models import CreditLine, CreditLineEvent, Loan
from riskdesk.lending.services import credit_line_change_limit
from riskdesk.riskmodels import monitoring
from riskdesk.riskmodels.features import scoring_frame
from riskdesk.riskmodels.models import (
    RISK_BANDS,
    BandChange,
    LimitPolicy,
    LimitReduction,
    ModelVersion,
    ScoreDistribution,
    ScoringNight,
)
from riskdesk.riskmodels.monitoring import BANDS, CHAMPION_GAP
from riskdesk.riskmodels.scorecard import Scorecard, Scores, bin_counts, reason_value

STEP_NAME = "riskmodels.scoring"
LIMIT_REASON = "risk_band_downgrade"
SCORED_TABLE, BAND_CODES, REASON_CODES = "riskmodels_scored", "riskmodels_band_codes", "riskmodels_reason_codes"
PD_PLACES, SCORE_PLACES = 6, 2


@dataclass(frozen=True)
class LiveModel:
    """A model version that scores tonight, with its loaded scorecard."""

    version: ModelVersion
    card: Scorecard
    is_champion: bool


@dataclass(frozen=True)
class Lineup:
    """The models of one night, the champion first, and whether the champion just changed."""

    models: list[LiveModel]
    # The night's champion is not the previous night's: its band changes are the new
    # model's view of the same borrowers (BandChange.model_switch), and cut no limit.
    model_switch: bool

    @property
    def champion(self) -> LiveModel:
        return self.models[0]


def live_models() -> list[LiveModel]:
    """The registry now: the champion first, then every challenger; none without a champion."""
    versions = list(
        ModelVersion.objects.filter(status__in=[ModelVersion.Status.CHAMPION, ModelVersion.Status.CHALLENGER])
    )
    versions.sort(key=lambda v: (v.status != ModelVersion.Status.CHAMPION, v.version))
    if not versions or versions[0].status != ModelVersion.Status.CHAMPION:
        return []
    return [LiveModel(v, Scorecard.from_spec(v.spec), v.status == ModelVersion.Status.CHAMPION) for v in versions]


def lineup_fix(day: date) -> ScoringNight | None:
    """Fix the models that score `day` (ScoringNight) from the registry as it is now."""
    models = live_models()
    if not models:
        ScoringNight.objects.filter(business_date=day).delete()
        return None
    night, _ = ScoringNight.objects.update_or_create(
        business_date=day,
        defaults={"champion": models[0].version, "challengers": [m.version.pk for m in models[1:]]},
    )
    return night


def night_lineup(day: date) -> Lineup | None:
    """The models fixed for `day` when its scoring started; None when no champion scored it."""
    night = ScoringNight.objects.filter(business_date=day).select_related("champion").first()
    if night is None:
        return None
    challengers = ModelVersion.objects.filter(pk__in=night.challengers).order_by("version")
    previous = (
        ScoringNight.objects.filter(business_date__lt=day)
        .order_by("-business_date")
        .values_list("champion_id", flat=True)
        .first()
    )
    models = [LiveModel(night.champion, Scorecard.from_spec(night.champion.spec), True)]
    models += [LiveModel(v, Scorecard.from_spec(v.spec), False) for v in challengers]
    return Lineup(models, model_switch=previous is not None and previous != night.champion_id)


# -- the step -----------------------------------------------------------------------------


def scoring_chunks(day: date) -> list[tuple[int, int]]:
    """Id ranges of the active loans; a fresh run of `day` fixes its lineup and clears its counts.

    core.jobs calls this once per run of a date, when it creates the chunks (in the
    transaction that locks the run): the models fixed here score every chunk of the
    night, and counts a forced rerun would add on top of the first run's are removed.
    """
    ScoreDistribution.objects.filter(business_date=day).delete()
    if lineup_fix(day) is None:
        return [(0, 0)]
    bounds = Loan.objects.filter(status=Loan.Status.ACTIVE).aggregate(lo=Min("id"), hi=Max("id"))
    return id_ranges(bounds["lo"], bounds["hi"], settings.SCORING_CHUNK_LOANS)


def scoring_chunk(day: date, lo: int, hi: int) -> RowCounts:
    """Step 3 for the active loans lo..hi on `day`."""
    lineup = night_lineup(day)
    if lineup is None:
        return {"scored": 0}
    frame, current = scoring_frame(day, lo=lo, hi=hi)
    if frame.empty:
        return {"scored": 0}
    scored = [(model, model.card.score(frame)) for model in lineup.models]
    return scores_write(day, frame, current, scored, lo=lo, hi=hi, model_switch=lineup.model_switch)


def scoring_finish(day: date) -> RowCounts:
    """Once every chunk is done: the monitoring rows, then the limit cuts of today's downgrades."""
    if not ScoringNight.objects.filter(business_date=day).exists():
        return {}
    return {**monitoring.monitoring_record(day), **limits_reduce(day)}


SCORING_STEP = Step(STEP_NAME, scoring_chunks, scoring_chunk, scoring_finish)


# -- writing the scores ------------------------------------------------------------------


def scores_write(
    day: date,
    frame: pd.DataFrame,
    current: pd.DataFrame,
    scored: Sequence[tuple[LiveModel, Scores]],
    *,
    lo: int,
    hi: int,
    model_switch: bool = False,
) -> RowCounts:
    """Write one chunk's scores: the champion's onto the loans, history rows, distribution counts.

    `scored` holds the champion first. `current` is what the champion last put on these
    loans (features.scoring_frame).
    """
    loan_ids = frame.index.to_numpy(dtype=np.int64)
    kept = _kept_for_history(day, frame, lo, hi)
    rows = {"scored": len(frame), "loan_scores": 0, "loans_changed": 0, "band_changes": 0}
    champion_bands: np.ndarray | None = None
    for model, scores in scored:
        rows["loan_scores"] += _write_loan_scores(day, model, loan_ids, scores, kept, lo, hi)
        bands = _band_index(model.card, scores.band)
        _add_distribution(day, model, scores, bands, champion_bands)
        if model.is_champion:
            champion_bands = bands
            changed, band_changes = _write_champion(day, model, loan_ids, scores, current, lo, hi, model_switch)
            rows["loans_changed"] += changed
            rows["band_changes"] += band_changes
    return rows


def _kept_for_history(day: date, frame: pd.DataFrame, lo: int, hi: int) -> np.ndarray:
    """Which rows get a LoanScore: all at month end; else days past due or a case open at D."""
    if is_month_end(day):
        return np.ones(len(frame), dtype=bool)
    d = date_param()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT l.id FROM lending_loan l JOIN collections_case c ON c.borrower_id = l.borrower_id
            WHERE l.id BETWEEN %s AND %s AND c.opened_on <= {d} AND (c.closed_on IS NULL OR c.closed_on > {d})
            """,
            [lo, hi, day, day],
        )
        in_case = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
    return (frame["dpd"].to_numpy() > 0) | np.isin(frame.index.to_numpy(dtype=np.int64), in_case)


def _write_loan_scores(
    day: date, model: LiveModel, loan_ids: np.ndarray, scores: Scores, kept: np.ndarray, lo: int, hi: int
) -> int:
    """Replace the model's LoanScore rows of `day` in lo..hi by the kept rows (rerun-safe)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM riskmodels_loanscore WHERE model_version_id = %s AND business_date = {date_param()} "
            "AND loan_id BETWEEN %s AND %s",
            [model.version.pk, day, lo, hi],
        )
    positions = np.flatnonzero(kept)
    if not len(positions):
        return 0
    pd_ = np.round(scores.pd[positions], PD_PLACES)
    points = np.round(scores.points[positions], SCORE_PLACES)
    rows = (
        (
            day.isoformat(),
            int(loan_ids[k]),
            model.version.pk,
            float(points[n]),
            float(pd_[n]),
            str(scores.band[k]),
            reasons,
        )
        for n, (k, reasons) in enumerate(zip(positions, reasons_json(scores, positions), strict=True))
    )
    columns = ("business_date", "loan_id", "model_version_id", "score", "pd", "band", "reasons")
    _copy_rows("riskmodels_loanscore", columns, rows)
    return len(positions)


def reasons_json(scores: Scores, positions: np.ndarray) -> list[str]:
    """JSON of the rows' reasons (LoanScore.reasons), as json.dumps(scores.reasons(k)) writes it.

    Built from the scorer's arrays rather than a list of dicts per row: at month end every
    loan gets a history row, a million of them. Values are formatted only where a feature
    is among the row's reasons.
    """
    top = scores.top_reasons[positions]
    lost = scores.points_lost[positions]
    heads = [f'{{"feature": {json.dumps(code)}, "value": ' for code in scores.codes]
    values: dict[int, dict[int, str]] = {}
    for j, code in enumerate(scores.codes):
        rows = np.flatnonzero((top == j).any(axis=1))
        raw = scores.raw[code][positions[rows]].tolist()
        values[j] = dict(zip(rows.tolist(), map(_json_value, raw), strict=True))
    out = []
    for n, row in enumerate(top.tolist()):
        items = [f'{heads[j]}{values[j][n]}, "points_lost": {float(lost[n, j])!r}}}' for j in row if j >= 0]
        out.append(f"[{', '.join(items)}]")
    return out


def _json_value(value: Any) -> str:
    """A reason's value as the scorer gives it (scorecard.reason_value: floats to 4 places), in JSON."""
    if isinstance(value, float) and math.isfinite(value):
        return repr(round(value, 4))
    return json.dumps(reason_value(value))


def _add_distribution(
    day: date, model: LiveModel, scores: Scores, bands: np.ndarray, champion_bands: np.ndarray | None
) -> None:
    """Add the chunk's loans per score bin, feature bin and band to the day's counts.

    A challenger also counts its loans by how many bands it stands from the champion
    (CHAMPION_GAP), the whole book's agreement at the price of five rows.
    """
    counts = bin_counts(model.card, scores)
    rows = [("", k, n) for k, n in enumerate(counts["score"])]
    rows += [(code, k, n) for code, bins in counts["features"].items() for k, n in enumerate(bins)]
    rows += [(BANDS, k, int(n)) for k, n in enumerate(np.bincount(bands, minlength=len(model.card.band_names)))]
    if champion_bands is not None and not model.is_champion:
        gaps = np.bincount(np.abs(bands - champion_bands), minlength=len(RISK_BANDS))
        rows += [(CHAMPION_GAP, k, int(n)) for k, n in enumerate(gaps)]
    rows = [(feature, k, int(n)) for feature, k, n in rows if n]
    if not rows:
        return
    values = ", ".join([f"({date_param()}, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO riskmodels_scoredistribution (business_date, model_version_id, feature, bin, loans)
            VALUES {values}
            ON CONFLICT (model_version_id, business_date, feature, bin)
            DO UPDATE SET loans = riskmodels_scoredistribution.loans + excluded.loans
            """,
            [x for feature, k, n in rows for x in (day, model.version.pk, feature, k, n)],
        )


def _write_champion(
    day: date,
    model: LiveModel,
    loan_ids: np.ndarray,
    scores: Scores,
    current: pd.DataFrame,
    lo: int,
    hi: int,
    model_switch: bool,
) -> tuple[int, int]:
    """Put the champion's band, PD, score and reasons onto the loans whose values changed.

    Returns (loans changed, band changes). `current` is what the loans carry now (read with
    the features), so the comparison runs in numpy and only the changed loans go to a temp
    table (binary COPY on Postgres), as numbers and codes: bands and reason sets are indexes
    into two small tables of their own, which keeps every row fixed-width.
    """
    pd_ = np.round(scores.pd, PD_PLACES)
    points = np.round(scores.points, SCORE_PLACES)
    band = scores.band.astype(str)
    reasons = np.asarray(scores.reason_codes, dtype=object)
    old_band = current["risk_band"].to_numpy(dtype=object).astype(str)
    changed = (
        (band != old_band)
        | (reasons != current["risk_reasons"].to_numpy(dtype=object))
        | ~(pd_ == current["risk_pd"].to_numpy(dtype=np.float64))
        | ~(points == current["risk_score"].to_numpy(dtype=np.float64))
    )
    if not changed.any():
        return 0, 0
    band_names = sorted({"", *model.card.band_names, *old_band[changed]})
    reason_sets, reason_index = np.unique(reasons[changed], return_inverse=True)
    _load_scored(
        loan_ids[changed],
        pd_[changed],
        points[changed],
        np.searchsorted(band_names, band[changed]).astype(np.int16),
        reason_index.astype(np.int16),
        np.searchsorted(band_names, old_band[changed]).astype(np.int16),
    )
    _load_codes(band_names, [str(r) for r in reason_sets])
    d = date_param()
    differs = "IS DISTINCT FROM" if is_postgres() else "IS NOT"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO riskmodels_bandchange ("on", loan_id, model_version_id, from_band, to_band, model_switch)
            SELECT {d}, s.loan_id, %s, f.band, b.band, %s
            FROM {SCORED_TABLE} s JOIN {BAND_CODES} b ON b.code = s.band JOIN {BAND_CODES} f ON f.code = s.from_band
            WHERE s.band <> s.from_band
            ON CONFLICT (loan_id, "on") DO UPDATE
            SET to_band = excluded.to_band, model_version_id = excluded.model_version_id,
                model_switch = excluded.model_switch
            """,
            [day, model.version.pk, model_switch],
        )
        band_changes = cursor.rowcount
        cursor.execute(
            f"""
            UPDATE lending_loan SET risk_band = b.band, risk_pd = s.pd, risk_score = s.score, risk_reasons = r.reasons
            FROM {SCORED_TABLE} s JOIN {BAND_CODES} b ON b.code = s.band JOIN {REASON_CODES} r ON r.code = s.reasons
            WHERE lending_loan.id = s.loan_id AND lending_loan.id BETWEEN %s AND %s
              AND (lending_loan.risk_band <> b.band OR lending_loan.risk_reasons <> r.reasons
                   OR lending_loan.risk_pd {differs} {_numeric("s.pd", 7, PD_PLACES)}
                   OR lending_loan.risk_score {differs} {_numeric("s.score", 7, SCORE_PLACES)})
            """,
            [lo, hi],
        )
        changed_loans = cursor.rowcount
        for table in (SCORED_TABLE, BAND_CODES, REASON_CODES):
            cursor.execute(f"DROP TABLE {table}")
    return changed_loans, band_changes


def _numeric(column: str, digits: int, places: int) -> str:
    return f"CAST({column} AS numeric({digits}, {places}))" if is_postgres() else column


def _load_codes(band_names: list[str], reason_sets: list[str]) -> None:
    """Temp tables spelling out the band and reason-set codes of the scored rows (a few rows each)."""
    with connection.cursor() as cursor:
        for table, column, values in ((BAND_CODES, "band", band_names), (REASON_CODES, "reasons", reason_sets)):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TEMP TABLE {table} (code smallint PRIMARY KEY, {column} varchar(120))")
            cursor.executemany(f"INSERT INTO {table} (code, {column}) VALUES (%s, %s)", list(enumerate(values)))


def _band_index(card: Scorecard, bands: np.ndarray) -> np.ndarray:
    """Each band's position in the spec's list of bands."""
    names = np.asarray(card.band_names)
    order = np.argsort(names)
    return order[np.searchsorted(names[order], bands)]


def _load_scored(
    loan_ids: np.ndarray,
    pd_: np.ndarray,
    points: np.ndarray,
    band: np.ndarray,
    reasons: np.ndarray,
    from_band: np.ndarray,
) -> None:
    """Create the chunk's temp table of changed scores and fill it (binary COPY on Postgres)."""
    columns = "loan_id, pd, score, band, reasons, from_band"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCORED_TABLE}")
        cursor.execute(
            f"CREATE TEMP TABLE {SCORED_TABLE} (loan_id bigint PRIMARY KEY, pd double precision, "
            "score double precision, band smallint, reasons smallint, from_band smallint)"
        )
        if is_postgres():
            cursor.cursor.copy_expert(
                f"COPY {SCORED_TABLE} ({columns}) FROM STDIN WITH (FORMAT binary)",
                _binary_copy(loan_ids, pd_, points, band, reasons, from_band),
            )
            cursor.execute(f"ANALYZE {SCORED_TABLE}")
        else:
            cursor.executemany(
                f"INSERT INTO {SCORED_TABLE} ({columns}) VALUES (%s, %s, %s, %s, %s, %s)",
                zip(
                    loan_ids.tolist(),
                    pd_.tolist(),
                    points.tolist(),
                    band.tolist(),
                    reasons.tolist(),
                    from_band.tolist(),
                    strict=True,
                ),
            )


# Postgres' binary COPY: a signature, then per row the field count and, per field, its
# byte length and big-endian value. Fixed-width rows are one numpy record array.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)
_SCORED_FIELDS = (
    ("loan_id", ">i8"),
    ("pd", ">f8"),
    ("score", ">f8"),
    ("band", ">i2"),
    ("reasons", ">i2"),
    ("from_band", ">i2"),
)
_SCORED_ROW = np.dtype(
    [("fields", ">i2")] + [item for name, kind in _SCORED_FIELDS for item in ((f"{name}_len", ">i4"), (name, kind))]
)


def _binary_copy(*columns: np.ndarray) -> io.BytesIO:
    rows = np.empty(len(columns[0]), dtype=_SCORED_ROW)
    rows["fields"] = len(_SCORED_FIELDS)
    for (name, kind), values in zip(_SCORED_FIELDS, columns, strict=True):
        rows[f"{name}_len"] = np.dtype(kind).itemsize
        rows[name] = values
    return io.BytesIO(_COPY_HEADER + rows.tobytes() + _COPY_TRAILER)


def _copy_rows(table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]) -> None:
    """Insert rows: COPY (CSV) on Postgres, executemany on SQLite."""
    with connection.cursor() as cursor:
        if is_postgres():
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            buffer.seek(0)
            cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", list(rows))


# -- actions from bands ------------------------------------------------------------------


def limit_policy_in_force(day: date) -> LimitPolicy | None:
    """The limit policy version in force on `day` (the latest effective on or before it), if enabled."""
    policy = LimitPolicy.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    return policy if policy is not None and policy.enabled else None


def reduced_limit(*, limit: Decimal, policy: LimitPolicy, outstanding: Decimal) -> Decimal:
    """The limit after a downgrade: max(minimum_limit, limit x (1 - reduce_by)), rounded down to
    the whole yuan, and never below the principal the line has drawn."""
    cut = max(policy.minimum_limit, limit * (Decimal(1) - policy.reduce_by))
    return quantize_money(max(cut.to_integral_value(rounding=ROUND_FLOOR), outstanding))


def limits_reduce(day: date) -> RowCounts:
    """Cut the credit limit of each line with a champion downgrade today into the policy's bands.

    A cut follows entry into the bands only (from a band outside them: C -> D cuts, D -> E
    and E -> D do not), so a loan sliding through D and E costs its line one cut. One cut
    per line a day, however many of its loans entered (the first by loan id carries it);
    through lending's credit_line_change_limit with reason risk_band_downgrade, and a
    LimitReduction row for the band change behind it. A line already cut for a band change
    of today is left alone, so a rerun cuts nothing twice.
    """
    policy = limit_policy_in_force(day)
    night = ScoringNight.objects.filter(business_date=day).first()
    if policy is None or night is None:
        return {"limits_reduced": 0}
    downgrades = (
        BandChange.objects.filter(
            on=day,
            model_version_id=night.champion_id,
            model_switch=False,
            to_band__in=list(policy.reduce_on_bands),
            limit_reduction__isnull=True,
        )
        .exclude(from_band__in=["", *policy.reduce_on_bands])
        .select_related("loan")
        .order_by("loan_id")
    )
    already_cut = set(LimitReduction.objects.filter(band_change__on=day).values_list("credit_line_id", flat=True))
    first_per_line: dict[int, BandChange] = {}
    for change in downgrades:
        if change.is_downgrade and change.loan.credit_line_id not in already_cut:
            first_per_line.setdefault(change.loan.credit_line_id, change)
    reduced = 0
    for line_id, change in first_per_line.items():
        reduced += _reduce_line(line_id, change, policy)
    return {"limits_reduced": reduced}


def _reduce_line(line_id: int, change: BandChange, policy: LimitPolicy) -> int:
    line = CreditLine.objects.get(pk=line_id)
    if line.status == CreditLine.Status.CLOSED:
        return 0
    outstanding = Loan.objects.filter(credit_line_id=line_id, status=Loan.Status.ACTIVE).aggregate(
        drawn=Sum("outstanding_principal")
    )["drawn"] or Decimal("0.00")
    new_limit = reduced_limit(limit=line.limit, policy=policy, outstanding=outstanding)
    if new_limit >= line.limit:
        return 0
    before = line.limit
    credit_line_change_limit(credit_line=line, limit=new_limit, reason=LIMIT_REASON)
    event = line.events.filter(kind=CreditLineEvent.Kind.LIMIT_CHANGE).order_by("-id").first()
    LimitReduction.objects.create(
        band_change=change, credit_line=line, policy=policy, limit_before=before, limit_after=new_limit, event=event
    )
    return 1
