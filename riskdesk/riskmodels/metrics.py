"""Validation and monitoring arithmetic: AUC, KS, Gini, PSI and calibration by band.

Pure numpy, no ORM. Convention: a `score` argument is "higher = riskier" (pass the PD,
not the points); `y` is 1 for a bad outcome. A metric that needs both goods and bads
is None when a sample has only one of them (JSON has no NaN).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PSI_WATCH = 0.10
PSI_ACT = 0.25
# A bin empty on one side would make ln(a/e) infinite; shares below this count as this.
PSI_EPS = 1e-4
BANDS = ("A", "B", "C", "D", "E")


def _both_classes(y: np.ndarray) -> bool:
    return 0 < int(y.sum()) < len(y)


def auc(y: Any, score: Any) -> float | None:
    """Return the area under the ROC curve: P(score of a bad > score of a good), ties count half.

    Mann-Whitney: (sum of the bads' mid-ranks - n1 (n1 + 1) / 2) / (n1 n0).
    """
    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    if not _both_classes(y):
        return None
    order = np.argsort(score, kind="stable")
    sorted_score = score[order]
    # Mid-ranks: every member of a run of equal scores gets the run's average rank.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_score)) + 1]
    ends = np.r_[starts[1:], len(score)]
    mid_rank = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    ranks = np.empty(len(score), dtype=np.float64)
    ranks[order] = mid_rank
    n1 = int(y.sum())
    n0 = len(y) - n1
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def ks(y: Any, score: Any) -> float | None:
    """Return the Kolmogorov-Smirnov statistic: max over thresholds of (TPR - FPR).

    Cutting at each distinct score from the top, TPR = bads above / bads and
    FPR = goods above / goods (scikit-learn's roc_curve points, including (0, 0)).
    """
    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    if not _both_classes(y):
        return None
    order = np.argsort(-score, kind="stable")
    sorted_score, sorted_y = score[order], y[order]
    # Only the last row of a run of equal scores is a threshold.
    last_of_run = np.r_[np.diff(sorted_score) != 0, True]
    bads_above = np.cumsum(sorted_y)[last_of_run]
    goods_above = np.cumsum(1 - sorted_y)[last_of_run]
    tpr = bads_above / bads_above[-1]
    fpr = goods_above / goods_above[-1]
    return float(max(0.0, np.max(tpr - fpr)))


def gini(y: Any, score: Any) -> float | None:
    """Return the Gini coefficient (accuracy ratio): 2 AUC - 1."""
    area = auc(y, score)
    return None if area is None else 2.0 * area - 1.0


def sample_summary(y: Any, score: Any) -> dict[str, Any]:
    """Return a sample's {loans, bads, bad_rate, auc, ks, gini} (bad_rate None when empty)."""
    y = np.asarray(y, dtype=np.int64)
    loans, bads = len(y), int(y.sum())
    return {
        "loans": loans,
        "bads": bads,
        "bad_rate": bads / loans if loans else None,
        "auc": auc(y, score),
        "ks": ks(y, score),
        "gini": gini(y, score),
    }


def psi(expected_shares: Any, actual_counts: Any) -> float:
    """Return the population stability index of actual counts against expected shares.

    PSI = sum over bins of (a - e) ln(a / e), a and e the actual and expected shares,
    each floored at PSI_EPS so an empty bin costs a large but finite amount. NaN when
    there are no actual counts (no population to compare).
    """
    expected = np.asarray(expected_shares, dtype=np.float64)
    counts = np.asarray(actual_counts, dtype=np.float64)
    if expected.shape != counts.shape:
        raise ValueError(f"{len(expected)} expected bins against {len(counts)} actual bins")
    total = counts.sum()
    if total <= 0:
        return float("nan")
    actual = np.maximum(counts / total, PSI_EPS)
    expected = np.maximum(expected / expected.sum(), PSI_EPS)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def psi_alert(value: float) -> str:
    """Return "act" at PSI 0.25 or more, "watch" at 0.10 or more, else "ok" (NaN: "ok")."""
    if value >= PSI_ACT:
        return "act"
    if value >= PSI_WATCH:
        return "watch"
    return "ok"


def calibration_by_band(bands: Any, pd: Any, bad: Any) -> list[dict[str, Any]]:
    """Return, for each band A-E present, {band, loans, predicted (mean PD), observed (bad rate)}."""
    bands = np.asarray(bands).astype(str)
    pd = np.asarray(pd, dtype=np.float64)
    bad = np.asarray(bad, dtype=np.float64)
    rows = []
    for band in BANDS:
        in_band = bands == band
        loans = int(in_band.sum())
        if loans:
            rows.append(
                {
                    "band": band,
                    "loans": loans,
                    "predicted": float(pd[in_band].mean()),
                    "observed": float(bad[in_band].mean()),
                }
            )
    return rows
