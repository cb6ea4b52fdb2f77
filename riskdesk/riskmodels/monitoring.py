"""Model monitoring, written by the scoring step's finish (close of day step 3).

Nightly, per model that scored D (ModelMonitor): the PSI of its score bins and of each
feature's bins against the shares it was trained on (`training_distribution`), read from
the night's ScoreDistribution counts, the alert (metrics.psi_alert: 0.10 watch, 0.25 act)
and the loans per band.

Once outcomes mature (ModelPerformance): for every month end M the model scored the whole
book on (month-end LoanScore rows) with M + 60 days closed, the target of those loans
(features.outcomes_frame) against the PD the model gave them that night: AUC, KS and Gini,
and predicted against observed bad rate by band. A month is computed once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

import numpy as np

from riskdesk.core.dates import is_month_end
from riskdesk.core.jobs import RowCounts
from riskdesk.riskmodels import metrics
from riskdesk.riskmodels.features import MATURITY_DAYS, outcomes_frame, read_frame
from riskdesk.riskmodels.models import ModelMonitor, ModelPerformance, ModelVersion, ScoreDistribution

# ScoreDistribution's rows of the score itself (feature ''), and its pseudo-features written
# by scoring.py: loans per band (bin = the band's index in the spec) and a challenger's
# loans by how many bands they stand from the champion's (bin = 0..4).
SCORE, BANDS, CHAMPION_GAP = "", "band", "champion_gap"


def monitoring_record(day: date) -> RowCounts:
    """Write the night's stability rows and any newly matured performance rows."""
    return {"monitors": monitors_record(day), "performance_rows": performance_record(day)}


def monitors_record(day: date) -> int:
    """A ModelMonitor for `day` per model with distribution counts that night; return how many."""
    counts: dict[int, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for model_id, feature, bin_, loans in ScoreDistribution.objects.filter(business_date=day).values_list(
        "model_version_id", "feature", "bin", "loans"
    ):
        counts[model_id][feature][bin_] = loans
    written = 0
    for version in ModelVersion.objects.filter(pk__in=list(counts)):
        expected = version.training_distribution or {}
        if not expected.get("score"):
            continue  # nothing to compare with: a version without training shares
        written += _monitor_write(version, day, counts[version.pk], expected)
    return written


def _monitor_write(
    version: ModelVersion, day: date, counts: dict[str, dict[int, int]], expected: dict[str, object]
) -> int:
    score_psi = metrics.psi(expected["score"], _dense(counts.get(SCORE, {}), len(expected["score"])))
    if not math.isfinite(score_psi):
        return 0
    feature_psi = {}
    for code, shares in (expected.get("features") or {}).items():
        value = metrics.psi(shares, _dense(counts.get(code, {}), len(shares)))
        if math.isfinite(value):
            feature_psi[code] = value
    band_names = [b["band"] for b in version.spec.get("bands") or []]
    band_mix = {band_names[k]: n for k, n in sorted(counts.get(BANDS, {}).items()) if k < len(band_names)}
    # A challenger's loans by bands apart from the champion's (none for the champion).
    gaps = counts.get(CHAMPION_GAP, {})
    compared = sum(gaps.values())
    ModelMonitor.objects.update_or_create(
        model_version=version,
        business_date=day,
        defaults={
            "loans": sum(counts.get(SCORE, {}).values()),
            "psi": score_psi,
            "alert": metrics.psi_alert(score_psi),
            "feature_psi": feature_psi,
            "band_mix": band_mix,
            "agreement": gaps.get(0, 0) / compared if compared else None,
            "agreement_within_one": (gaps.get(0, 0) + gaps.get(1, 0)) / compared if compared else None,
        },
    )
    return 1


def _dense(counts: dict[int, int], bins: int) -> list[int]:
    """Loans per bin 0..bins-1 from the sparse counts (a bin beyond the training's is an error)."""
    if counts and max(counts) >= bins:
        raise ValueError(f"bin {max(counts)} is beyond the {bins} bins the model was trained with")
    return [counts.get(k, 0) for k in range(bins)]


def matured_observations(day: date) -> list[tuple[int, date]]:
    """(model, month end) pairs scored over the whole book whose outcomes are known on `day`
    and have no performance row yet."""
    last_observation = day - timedelta(days=MATURITY_DAYS)
    scored = set(
        ScoreDistribution.objects.filter(feature=SCORE, business_date__lte=last_observation)
        .values_list("model_version_id", "business_date")
        .distinct()
    )
    done = set(ModelPerformance.objects.values_list("model_version_id", "observation_month"))
    return sorted(pair for pair in scored - done if is_month_end(pair[1]))


def performance_record(day: date) -> int:
    """A ModelPerformance row for each newly matured (model, month end); return how many."""
    written = 0
    for model_id, month_end in matured_observations(day):
        written += _performance_write(model_id, month_end, day)
    return written


def _performance_write(model_id: int, month_end: date, day: date) -> int:
    scores = read_frame(
        "SELECT loan_id, pd, band FROM riskmodels_loanscore "
        "WHERE model_version_id = %(model)s AND business_date = %(month_end)s",
        {"model": model_id, "month_end": month_end},
        text_columns=("band",),
    ).set_index("loan_id")
    outcomes = outcomes_frame(month_end)
    joined = scores.join(outcomes, how="inner").dropna(subset=["bad"])
    if joined.empty:
        return 0
    bad = joined["bad"].to_numpy(dtype=np.int64)
    pd_ = joined["pd"].to_numpy(dtype=np.float64)
    ModelPerformance.objects.create(
        model_version_id=model_id,
        observation_month=month_end,
        loans=len(joined),
        bads=int(bad.sum()),
        auc=metrics.auc(bad, pd_),
        ks=metrics.ks(bad, pd_),
        gini=metrics.gini(bad, pd_),
        calibration=metrics.calibration_by_band(joined["band"].to_numpy(), pd_, bad),
        computed_on=day,
    )
    return 1
