"""A tiny hand-written scorecard spec and a synthetic book frame, for tests that need no training or no book.

Four features (dpd, days_since_payment, segment, product); points follow optbinning's
pdo_odds scaling from the WOE and coefficients, so points and PD agree as in a trained
spec: points = -(coefficient * woe + intercept / n) * factor + offset / n.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from riskdesk.riskmodels.features import FEATURE_CODES

INTERCEPT = -2.5
SCALING = {"base_score": 600.0, "base_odds": 50.0, "pdo": 20.0}
BANDS = [
    {"band": "A", "max_pd": 0.02},
    {"band": "B", "max_pd": 0.05},
    {"band": "C", "max_pd": 0.12},
    {"band": "D", "max_pd": 0.30},
    {"band": "E", "max_pd": 1.0},
]

# (code, kind, coefficient, splits or categories, [(label, woe, count, event_rate)] for the regular bins)
_FEATURES: list[tuple[str, str, float, list[Any], list[tuple[str, float, int, float]]]] = [
    (
        "segment",
        "categorical",
        -0.5,
        [["to_30"], ["over_30"]],
        [("[to_30]", 0.3, 900, 0.05), ("[over_30]", -2.0, 100, 0.45)],
    ),
    (
        "dpd",
        "numerical",
        -0.9,
        [1.0, 15.0],
        [("(-inf, 1.00)", 0.8, 700, 0.03), ("[1.00, 15.00)", -0.6, 200, 0.15), ("[15.00, inf)", -1.8, 100, 0.4)],
    ),
    (
        "days_since_payment",
        "numerical",
        -0.7,
        [35.0],
        [("(-inf, 35.00)", 0.5, 800, 0.04), ("[35.00, inf)", -1.2, 150, 0.25)],
    ),
    (
        "product",
        "categorical",
        -0.4,
        [["jiebei"], ["cash", "xl"]],
        [("[jiebei]", 0.2, 850, 0.06), ("[cash xl]", -0.5, 150, 0.12)],
    ),
]
# days_since_payment has training rows with no payment yet (NaN): its Missing row has its own WOE.
_MISSING_WOE = {"days_since_payment": -0.3}
_MISSING_COUNT = {"days_since_payment": 50}


def _points(woe: float, coefficient: float, n: int) -> float:
    factor = SCALING["pdo"] / math.log(2)
    offset = SCALING["base_score"] - factor * math.log(SCALING["base_odds"])
    return -(coefficient * woe + INTERCEPT / n) * factor + offset / n


def tiny_spec(*, score_bins: list[float] | None = None) -> dict[str, Any]:
    """Return a valid format-1 spec over dpd, days_since_payment, segment and product."""
    n = len(_FEATURES)
    features = []
    for code, kind, coefficient, cuts, regular in _FEATURES:
        rows = [
            {"label": label, "woe": woe, "points": _points(woe, coefficient, n), "count": count, "event_rate": rate}
            for label, woe, count, rate in regular
        ]
        missing_woe = _MISSING_WOE.get(code, 0.0)
        rows.append(
            {"label": "Special", "woe": 0.0, "points": _points(0.0, coefficient, n), "count": 0, "event_rate": 0.0}
        )
        rows.append(
            {
                "label": "Missing",
                "woe": missing_woe,
                "points": _points(missing_woe, coefficient, n),
                "count": _MISSING_COUNT.get(code, 0),
                "event_rate": 0.1 if code in _MISSING_COUNT else 0.0,
            }
        )
        feature: dict[str, Any] = {"code": code, "kind": kind, "coefficient": coefficient, "bins": rows}
        if kind == "numerical":
            feature["splits"] = cuts
        else:
            feature["categories"] = cuts
            feature["unknown_woe"] = 0.0
        feature["special_bin"] = len(regular)
        feature["special_codes"] = []
        feature["missing_bin"] = len(regular) + 1
        feature["best_points"] = max(r["points"] for r in rows if r["count"] > 0)
        features.append(feature)
    return {
        "format": 1,
        "features": features,
        "intercept": INTERCEPT,
        "scaling": dict(SCALING),
        "bands": [dict(b) for b in BANDS],
        "score_bins": score_bins if score_bins is not None else [560.0, 580.0, 600.0, 620.0],
    }


def synthetic_book(
    n: int, *, seed: int = 0, products: tuple[str, str, str] = ("jiebei", "cash", "xl")
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return a features frame shaped like features_frame (index loan_id, FEATURE_CODES) and bad (0/1).

    Bads follow a logistic law in DPD history, payments, failures and promises, so a
    fitted scorecard finds real bins; NaN where the book has them (nothing due, never paid).
    """
    rng = np.random.default_rng(seed)
    late = rng.random(n) < 0.12
    dpd = np.where(late, rng.integers(1, 120, n), 0).astype(float)
    max_3m = dpd + np.where(rng.random(n) < 0.1, rng.integers(0, 40, n), 0)
    max_6m = max_3m + np.where(rng.random(n) < 0.1, rng.integers(0, 30, n), 0)
    max_12m = max_6m + np.where(rng.random(n) < 0.1, rng.integers(0, 30, n), 0)
    times_30plus = (max_12m > 30) * rng.integers(0, 3, n)
    months_on_book = rng.integers(0, 36, n).astype(float)
    utilisation = rng.beta(2, 3, n)
    active_loans = rng.integers(1, 5, n).astype(float)
    paid_due = np.clip(rng.normal(0.9, 0.3, n) - 0.005 * dpd, 0, 2)
    paid_due[rng.random(n) < 0.08] = np.nan
    since_payment = rng.exponential(25, n) + dpd * 0.5
    since_payment[rng.random(n) < 0.06] = np.nan
    failures = rng.poisson(0.3 + 0.02 * dpd)
    broken = rng.poisson(0.05 + 0.01 * dpd)
    product = rng.choice(products, n, p=[0.6, 0.3, 0.1])
    z = (
        -3.2
        + 0.035 * dpd
        + 0.01 * (max_12m - dpd)
        + 0.4 * times_30plus
        + 0.9 * (utilisation - 0.4)
        + 0.15 * (active_loans - 1)
        - 0.8 * np.nan_to_num(paid_due - 0.9, nan=-0.3)
        + 0.01 * np.nan_to_num(since_payment, nan=60)
        + 0.3 * failures
        + 0.4 * broken
        + 0.8 * (product == "xl")
        - 0.3 * (product == "cash")
        - 0.01 * months_on_book
    )
    bad = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
    frame = pd.DataFrame(
        {
            "segment": np.where(dpd > 30, "over_30", "to_30"),
            "dpd": dpd,
            "max_dpd_3m": max_3m,
            "max_dpd_6m": max_6m,
            "max_dpd_12m": max_12m,
            "times_30plus_12m": times_30plus.astype(float),
            "months_on_book": months_on_book,
            "utilisation": utilisation,
            "active_loans": active_loans,
            "paid_due_ratio_3m": paid_due,
            "days_since_payment": since_payment,
            "autodebit_failures_90d": failures.astype(float),
            "broken_promises_12m": broken.astype(float),
            "days_unreachable": np.where(dpd > 0, rng.integers(0, 30, n), 0).astype(float),
            "arrangements": (rng.random(n) < 0.03).astype(float),
            "outstanding_principal": rng.gamma(2, 3000, n),
            "product": product,
            "term": rng.choice(["3", "6", "12"], n),
        },
        index=pd.Index(np.arange(1, n + 1, dtype=np.int64), name="loan_id"),
    )
    return frame[list(FEATURE_CODES)], bad
