"""A tiny hand-written scorecard spec, for tests that need a model version without training.

Four features (dpd, days_since_payment, segment, product); points follow optbinning's
pdo_odds scaling from the WOE and coefficients, so points and PD agree as in a trained
spec: points = -(coefficient * woe + intercept / n) * factor + offset / n.
"""

from __future__ import annotations

import math
from typing import Any

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
