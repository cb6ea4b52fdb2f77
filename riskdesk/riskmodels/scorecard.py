"""Score loans with a frozen scorecard: points, PD, band, score bin and reason codes.

Pure numpy and pandas, no Django model and no optbinning: the nightly workers score
with this module alone, and a test holds it to optbinning's `Scorecard.score` (points,
within 1e-9), to the logistic regression's `predict_proba` (PD, within 1e-12) and to
the same bands.

The spec (``ModelVersion.spec``, written by `training.FittedScorecard.spec`) is JSON::

    {
      "format": 1,
      "features": [                       # only the selected features, in FEATURES order
        {
          "code": "dpd",
          "kind": "numerical",            # or "categorical"
          "coefficient": -0.93,           # the logistic regression's weight on the WOE
          "splits": [3.5, 8.5],           # numerical: inner edges, bins closed on the left
          "categories": [["EL"], ["CL", "XL"]],  # categorical: the categories of each bin
          "unknown_woe": 0.0,             # categorical: WOE an unseen category gets (PD)
          "bins": [                       # regular bins, then "Special", then "Missing"
            {"label": "(-inf, 3.50)", "woe": 1.2, "points": 31.4, "count": 812, "event_rate": 0.02},
            ...
          ],
          "special_bin": 3,               # index of the "Special" row, or null
          "special_codes": [],            # raw values that go to the special bin
          "missing_bin": 4,               # index of the "Missing" row
          "best_points": 31.4             # max points over the bins that held training rows
        }, ...
      ],
      "intercept": -2.1,                  # the logistic regression's intercept
      "scaling": {"base_score": 600.0, "base_odds": 50.0, "pdo": 20.0},
      "bands": [{"band": "A", "max_pd": 0.02}, ..., {"band": "E", "max_pd": 1.0}],
      "score_bins": [512.3, 540.8, ...]   # inner edges on points (training deciles), for PSI
    }

How a raw value finds its bin mirrors optbinning's `transform_binary_target`:
  * numerical: ``np.digitize(x, splits, right=False)``, so a value equal to a split
    falls in the bin above it ([a, b) intervals); NaN goes to the Missing row and a
    special code to the Special row;
  * categorical: the bin whose category list holds the value; NaN goes to Missing; an
    unseen category gets the Missing row's points (optbinning's index -1 is the last
    row of the table) but `unknown_woe` in the PD, as `predict_proba` does;
  * points of a row are the sum of its bins' points (optbinning's ``rounding=False``:
    the points sum to ``offset - factor * z``, with z the linear predictor), and
    PD = 1 / (1 + exp(-z)) with z = intercept + sum(coefficient * woe).

Higher points mean lower risk; a band is the first whose ``max_pd`` is at or above PD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

SPEC_FORMAT = 1
REASONS_SHOWN = 3
# Points lost below this are float noise, not a reason.
POINTS_LOST_MIN = 1e-9


def categorical_text(values: pd.Series) -> pd.Series:
    """Return a categorical column as text, NaN kept: the spec's JSON keeps categories as strings.

    Training bins the same text, so 1 (an int code) and "1" are one category.
    """
    return values.astype(object).where(values.notna(), np.nan).map(str, na_action="ignore").astype(object)


@dataclass(frozen=True, eq=False)
class FeatureBins:
    """One feature's frozen bins: how a raw value maps to a bin, its WOE and its points."""

    code: str
    kind: str
    coefficient: float
    splits: np.ndarray
    category_index: pd.Index
    category_bins: np.ndarray
    unknown_woe: float
    woe: np.ndarray
    points: np.ndarray
    special_bin: int | None
    special_codes: tuple[Any, ...]
    missing_bin: int
    best_points: float

    @classmethod
    def from_spec(cls, feature: dict[str, Any]) -> FeatureBins:
        category_bin = {
            str(category): i for i, categories in enumerate(feature.get("categories") or []) for category in categories
        }
        return cls(
            code=feature["code"],
            kind=feature["kind"],
            coefficient=float(feature["coefficient"]),
            splits=np.asarray(feature.get("splits") or [], dtype=np.float64),
            category_index=pd.Index(list(category_bin), dtype=object),
            category_bins=np.array(list(category_bin.values()), dtype=np.intp),
            unknown_woe=float(feature.get("unknown_woe", 0.0)),
            woe=np.array([b["woe"] for b in feature["bins"]], dtype=np.float64),
            points=np.array([b["points"] for b in feature["bins"]], dtype=np.float64),
            special_bin=feature.get("special_bin"),
            special_codes=tuple(feature.get("special_codes") or ()),
            missing_bin=int(feature["missing_bin"]),
            best_points=float(feature["best_points"]),
        )

    def bin_of(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Return each value's bin index and a mask of unseen categories.

        Numerical: digitize on the splits ([a, b) bins); special codes, then NaN, override.
        Categorical: the bin listing the value; NaN and unseen categories take the Missing row.
        """
        if self.kind == "numerical":
            x = values.to_numpy(dtype=np.float64, na_value=np.nan)
            index = np.digitize(x, self.splits, right=False)
            if self.special_codes and self.special_bin is not None:
                index[np.isin(x, np.asarray(self.special_codes, dtype=np.float64))] = self.special_bin
            index[np.isnan(x)] = self.missing_bin
            return index.astype(np.intp), np.zeros(len(x), dtype=bool)
        missing = values.isna().to_numpy()
        text = values if pd.api.types.is_string_dtype(values) else categorical_text(values)
        # Position in the spec's categories: -1 for NaN and for a category it does not list.
        codes = self.category_index.get_indexer(text)
        index = np.where(codes >= 0, self.category_bins[codes], -1).astype(np.intp)
        unknown = (index == -1) & ~missing
        if self.special_codes and self.special_bin is not None:
            index[values.isin(self.special_codes).to_numpy()] = self.special_bin
        index[(index == -1) | missing] = self.missing_bin
        return index, unknown


@dataclass(frozen=True, eq=False)
class Scorecard:
    """A frozen scorecard that scores a feature frame without the training library."""

    features: tuple[FeatureBins, ...]
    intercept: float
    band_names: tuple[str, ...]
    band_max_pd: np.ndarray
    score_edges: np.ndarray
    spec: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Scorecard:
        """Load a spec (the JSON of a model version); refuse a format this scorer does not know."""
        if spec.get("format") != SPEC_FORMAT:
            raise ValueError(f"scorecard spec format {spec.get('format')!r} is not {SPEC_FORMAT}")
        return cls(
            features=tuple(FeatureBins.from_spec(f) for f in spec["features"]),
            intercept=float(spec["intercept"]),
            band_names=tuple(b["band"] for b in spec["bands"]),
            band_max_pd=np.array([float(b["max_pd"]) for b in spec["bands"]], dtype=np.float64),
            score_edges=np.asarray(spec.get("score_bins") or [], dtype=np.float64),
            spec=spec,
        )

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.features)

    def band_of(self, pd_: np.ndarray) -> np.ndarray:
        """Return the band of each PD: the first band whose max_pd is at or above it."""
        index = np.searchsorted(self.band_max_pd, pd_, side="left")
        return np.asarray(self.band_names, dtype=object)[np.minimum(index, len(self.band_names) - 1)].astype("<U1")

    def score_bin_of(self, points: np.ndarray) -> np.ndarray:
        """Return each row's score bin for PSI: [a, b) intervals on the spec's inner edges."""
        return np.digitize(points, self.score_edges, right=False).astype(np.intp)

    def score(self, frame: pd.DataFrame) -> Scores:
        """Score every row of `frame` (columns: at least the spec's feature codes).

        points = sum of bin points (optbinning's order: features in spec order);
        pd = 1 / (1 + exp(-(intercept + sum(coefficient * woe)))).
        """
        n = len(frame)
        points = np.zeros(n, dtype=np.float64)
        z = np.full(n, self.intercept, dtype=np.float64)
        bins: dict[str, np.ndarray] = {}
        lost = np.empty((n, len(self.features)), dtype=np.float64)
        for j, feature in enumerate(self.features):
            index, unknown = feature.bin_of(frame[feature.code])
            bin_points = feature.points[index]
            points += bin_points
            woe = feature.woe[index]
            if unknown.any():
                woe = np.where(unknown, feature.unknown_woe, woe)
            z += feature.coefficient * woe
            bins[feature.code] = index
            lost[:, j] = feature.best_points - bin_points
        pd_ = 1.0 / (1.0 + np.exp(-z))
        return Scores(
            points=points,
            pd=pd_,
            band=self.band_of(pd_),
            score_bin=self.score_bin_of(points),
            bins=bins,
            codes=self.codes,
            points_lost=lost,
            raw={f.code: frame[f.code].to_numpy() for f in self.features},
        )


def reason_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        return round(float(value), 4)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return str(value)


@dataclass(frozen=True, eq=False)
class Scores:
    """The scores of a frame's rows, in its order."""

    points: np.ndarray
    pd: np.ndarray
    band: np.ndarray
    score_bin: np.ndarray
    bins: dict[str, np.ndarray]
    codes: tuple[str, ...]
    points_lost: np.ndarray = field(repr=False)
    raw: dict[str, np.ndarray] = field(repr=False)

    def __len__(self) -> int:
        return len(self.points)

    @cached_property
    def top_reasons(self) -> np.ndarray:
        """Return, per row, the columns of the three features losing the most points (-1: none).

        points_lost = best_points - the row's bin points; only > 1e-9 counts; worst first,
        ties in spec (FEATURES) order.
        """
        lost = self.points_lost.copy()
        rows = np.arange(len(lost))
        top = np.full((len(lost), min(REASONS_SHOWN, lost.shape[1])), -1, dtype=np.intp)
        for k in range(top.shape[1]):
            # argmax takes the first of equal maxima: ties go to the earlier feature.
            worst = np.argmax(lost, axis=1)
            top[:, k] = np.where(lost[rows, worst] > POINTS_LOST_MIN, worst, -1)
            lost[rows, worst] = -np.inf
        return top

    def reasons(self, i: int) -> list[dict[str, Any]]:
        """Return row i's reasons: [{feature, value, points_lost}], worst first."""
        return [
            {
                "feature": self.codes[j],
                "value": reason_value(self.raw[self.codes[j]][i]),
                "points_lost": float(self.points_lost[i, j]),
            }
            for j in self.top_reasons[i]
            if j >= 0
        ]

    def _codes_of(self, key: int, width: int) -> list[str]:
        radix = len(self.codes) + 1
        digits = [(key // radix**p) % radix - 1 for p in reversed(range(width))]
        return [self.codes[j] for j in digits if j >= 0]

    @cached_property
    def reason_codes(self) -> list[str]:
        """Return each row's reasons as "code,code,code" (Loan.risk_reasons); "" when none."""
        top = self.top_reasons
        # Few distinct reason triples exist: join each once, then hand every row its string.
        radix = len(self.codes) + 1
        key = np.zeros(len(top), dtype=np.int64)
        for k in range(top.shape[1]):
            key = key * radix + top[:, k] + 1
        keys, row_key = np.unique(key, return_inverse=True)
        joined = np.array([",".join(self._codes_of(int(k), top.shape[1])) for k in keys], dtype=object)
        return joined[row_key].tolist()


def bin_counts(scorecard: Scorecard, scores: Scores) -> dict[str, Any]:
    """Return rows per score bin (len(score_bins) + 1 of them) and per feature bin (spec order).

    The counts behind PSI: ScoreDistribution rows at night, training shares at training.
    """
    return {
        "score": np.bincount(scores.score_bin, minlength=len(scorecard.score_edges) + 1).tolist(),
        "features": {
            f.code: np.bincount(scores.bins[f.code], minlength=len(f.points)).tolist() for f in scorecard.features
        },
    }
