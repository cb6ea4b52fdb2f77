"""The numpy scorer against optbinning, its determinism, bands and reason codes."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from riskdesk.riskmodels.features import FEATURES
from riskdesk.riskmodels.scorecard import Scorecard, bin_counts
from riskdesk.riskmodels.training import FittedScorecard, Scaling, fit_scorecard
from tests.riskmodels.specs import synthetic_book, tiny_spec

SCALING = Scaling(base_score=600.0, base_odds=50.0, pdo=20.0)


@pytest.fixture(scope="module")
def fitted() -> FittedScorecard:
    frame, bad = synthetic_book(8000, seed=0)
    return fit_scorecard(frame, bad, FEATURES, scaling=SCALING)


@pytest.fixture(scope="module")
def unseen_rows() -> pd.DataFrame:
    """Rows the model never saw: a new product, missing categories, NaN, values on the splits."""
    frame, _ = synthetic_book(4000, seed=1, products=("jiebei", "cash", "new_product"))
    frame.iloc[::37, frame.columns.get_loc("product")] = None
    frame.iloc[::41, frame.columns.get_loc("segment")] = "never_seen"
    frame.iloc[::43, frame.columns.get_loc("term")] = np.nan
    for column in ("dpd", "utilisation", "active_loans", "outstanding_principal"):
        frame.iloc[::29, frame.columns.get_loc(column)] = np.nan
    return frame


def _rows_on_the_splits(fitted: FittedScorecard, frame: pd.DataFrame) -> pd.DataFrame:
    """Copy rows so every numerical split value appears exactly: the bin closure decides them."""
    rows = []
    for feature in fitted.spec()["features"]:
        for split in feature.get("splits", []):
            row = frame.iloc[len(rows) % len(frame)].copy()
            row[feature["code"]] = split
            rows.append(row)
    return pd.DataFrame(rows)


def test_points_equal_optbinning_score(fitted: FittedScorecard, unseen_rows: pd.DataFrame) -> None:
    frame = pd.concat([unseen_rows, _rows_on_the_splits(fitted, unseen_rows)])
    assert "product" in fitted.selected  # so unseen and missing categories are exercised
    scores = Scorecard.from_spec(fitted.spec()).score(frame)
    np.testing.assert_allclose(scores.points, fitted.optbinning.score(frame), rtol=0, atol=1e-9)


def test_pd_equals_predict_proba_and_bands_are_identical(fitted: FittedScorecard, unseen_rows: pd.DataFrame) -> None:
    frame = pd.concat([unseen_rows, _rows_on_the_splits(fitted, unseen_rows)])
    scorecard = Scorecard.from_spec(fitted.spec())
    scores = scorecard.score(frame)
    expected_pd = fitted.optbinning.predict_proba(frame)[:, 1]
    np.testing.assert_allclose(scores.pd, expected_pd, rtol=0, atol=1e-12)
    assert (scores.band == scorecard.band_of(expected_pd)).all()
    assert set(scores.band) > {"A", "E"}


def test_points_sum_to_the_scaled_linear_predictor(fitted: FittedScorecard) -> None:
    # rounding=False: points = offset - factor * logit(PD), rows with unseen categories aside.
    frame, _ = synthetic_book(500, seed=2)
    scores = Scorecard.from_spec(fitted.spec()).score(frame)
    factor = SCALING.pdo / math.log(2)
    offset = SCALING.base_score - factor * math.log(SCALING.base_odds)
    np.testing.assert_allclose(scores.points, offset - factor * np.log(scores.pd / (1 - scores.pd)), atol=1e-9)


def test_spec_survives_json_and_scores_identically(fitted: FittedScorecard, unseen_rows: pd.DataFrame) -> None:
    spec = fitted.spec()
    again = json.loads(json.dumps(spec))
    a, b = Scorecard.from_spec(spec).score(unseen_rows), Scorecard.from_spec(again).score(unseen_rows)
    assert again == spec
    assert (a.points == b.points).all() and (a.pd == b.pd).all()


def test_training_is_deterministic() -> None:
    frame, bad = synthetic_book(3000, seed=5)
    first = fit_scorecard(frame, bad, FEATURES, scaling=SCALING).spec()
    second = fit_scorecard(frame, bad, FEATURES, scaling=SCALING).spec()
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_scoring_is_deterministic(fitted: FittedScorecard, unseen_rows: pd.DataFrame) -> None:
    scorecard = Scorecard.from_spec(fitted.spec())
    a, b = scorecard.score(unseen_rows), scorecard.score(unseen_rows)
    assert (a.points == b.points).all() and (a.pd == b.pd).all() and (a.band == b.band).all()
    assert a.reason_codes == b.reason_codes


def test_spec_carries_the_frozen_bins(fitted: FittedScorecard) -> None:
    spec = fitted.spec()
    assert spec["format"] == 1
    assert [b["band"] for b in spec["bands"]] == ["A", "B", "C", "D", "E"]
    assert spec["bands"][-1]["max_pd"] == 1.0
    assert spec["score_bins"] == sorted(spec["score_bins"]) and len(spec["score_bins"]) <= 9
    codes = [f["code"] for f in spec["features"]]
    assert codes == [f.code for f in FEATURES if f.code in codes]
    for feature in spec["features"]:
        labels = [b["label"] for b in feature["bins"]]
        assert labels[feature["special_bin"]] == "Special" and labels[feature["missing_bin"]] == "Missing"
        assert feature["best_points"] == max(b["points"] for b in feature["bins"] if b["count"] > 0)
        assert feature["coefficient"] < 0  # WOE is high where bads are rare


# -- the hand-written spec: closures, missing, unseen, bands, reasons ---------------


def _tiny_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.index = pd.Index(range(1, len(rows) + 1), name="loan_id")
    return frame


def test_a_value_on_a_split_falls_in_the_bin_above() -> None:
    scorecard = Scorecard.from_spec(tiny_spec())
    frame = _tiny_frame(
        [{"segment": "to_30", "dpd": d, "days_since_payment": 1.0, "product": "jiebei"} for d in (0.99, 1.0, 15.0)]
    )
    assert scorecard.score(frame).bins["dpd"].tolist() == [0, 1, 2]


def test_nan_takes_the_missing_bin_and_an_unseen_category_its_points() -> None:
    spec = tiny_spec()
    scorecard = Scorecard.from_spec(spec)
    frame = _tiny_frame(
        [
            {"segment": "to_30", "dpd": np.nan, "days_since_payment": np.nan, "product": "brand_new"},
            {"segment": None, "dpd": 0.0, "days_since_payment": 1.0, "product": "xl"},
        ]
    )
    scores = scorecard.score(frame)
    assert scores.bins["dpd"].tolist() == [4, 0]
    assert scores.bins["days_since_payment"].tolist() == [3, 0]
    assert scores.bins["product"].tolist() == [3, 1]
    assert scores.bins["segment"].tolist() == [0, 3]
    product = spec["features"][3]
    assert scores.points[0] == pytest.approx(
        spec["features"][0]["bins"][0]["points"]
        + spec["features"][1]["bins"][4]["points"]
        + spec["features"][2]["bins"][3]["points"]
        + product["bins"][3]["points"],
        abs=1e-12,
    )


def test_band_is_the_first_whose_max_pd_is_at_or_above_the_pd() -> None:
    scorecard = Scorecard.from_spec(tiny_spec())
    pd_ = np.array([0.0, 0.02, 0.020001, 0.05, 0.12, 0.3, 0.31, 1.0])
    assert scorecard.band_of(pd_).tolist() == ["A", "A", "B", "B", "C", "D", "E", "E"]


def test_reason_codes_name_the_features_losing_most_points_worst_first() -> None:
    # tiny_spec: segment, dpd, days_since_payment, product; best bins are to_30, dpd < 1,
    # paid within 35 days, jiebei. Lost points = coefficient x (woe_best - woe_row) x pdo/ln 2.
    scorecard = Scorecard.from_spec(tiny_spec())
    frame = _tiny_frame(
        [
            {"segment": "to_30", "dpd": 0.0, "days_since_payment": 3.0, "product": "jiebei"},
            {"segment": "over_30", "dpd": 40.0, "days_since_payment": 70.0, "product": "cash"},
            {"segment": "to_30", "dpd": 5.0, "days_since_payment": np.nan, "product": "jiebei"},
        ]
    )
    scores = scorecard.score(frame)
    factor = 20 / math.log(2)
    # row 2: dpd 0.9 x 2.6 = 2.34, days_since_payment 0.7 x 1.7 = 1.19, segment 0.5 x 2.3 = 1.15, product 0.28
    assert scores.reason_codes == ["", "dpd,days_since_payment,segment", "dpd,days_since_payment"]
    assert scores.reasons(0) == []
    assert scores.reasons(1) == [
        {"feature": "dpd", "value": 40.0, "points_lost": pytest.approx(0.9 * 2.6 * factor)},
        {"feature": "days_since_payment", "value": 70.0, "points_lost": pytest.approx(0.7 * 1.7 * factor)},
        {"feature": "segment", "value": "over_30", "points_lost": pytest.approx(0.5 * 2.3 * factor)},
    ]
    assert scores.reasons(2) == [
        {"feature": "dpd", "value": 5.0, "points_lost": pytest.approx(0.9 * 1.4 * factor)},
        {"feature": "days_since_payment", "value": None, "points_lost": pytest.approx(0.7 * 0.8 * factor)},
    ]


def test_equal_losses_keep_the_feature_catalogue_order() -> None:
    spec = tiny_spec()
    # Give product segment's points, so "cash" costs exactly what "over_30" does.
    segment, product = spec["features"][0], spec["features"][3]
    product["bins"][0]["points"] = product["best_points"] = segment["best_points"]
    product["bins"][1]["points"] = segment["bins"][1]["points"]
    frame = _tiny_frame([{"segment": "over_30", "dpd": 0.0, "days_since_payment": 1.0, "product": "cash"}])
    assert Scorecard.from_spec(spec).score(frame).reason_codes == ["segment,product"]


def test_reason_values_are_rounded_raw_values() -> None:
    frame = _tiny_frame([{"segment": "to_30", "dpd": 3.0, "days_since_payment": 40.123456, "product": "jiebei"}])
    reasons = Scorecard.from_spec(tiny_spec()).score(frame).reasons(0)
    assert [r["value"] for r in reasons] == [3.0, 40.1235]


def test_score_bins_and_counts_follow_the_spec_edges() -> None:
    scorecard = Scorecard.from_spec(tiny_spec(score_bins=[500.0, 580.0]))
    frame = _tiny_frame(
        [
            {"segment": "to_30", "dpd": 0.0, "days_since_payment": 3.0, "product": "jiebei"},
            {"segment": "over_30", "dpd": 40.0, "days_since_payment": 70.0, "product": "cash"},
        ]
    )
    scores = scorecard.score(frame)
    assert scores.score_bin.tolist() == [2, 0]
    counts = bin_counts(scorecard, scores)
    assert counts["score"] == [1, 0, 1]
    assert counts["features"]["dpd"] == [1, 0, 1, 0, 0]


def test_an_unknown_spec_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        Scorecard.from_spec({**tiny_spec(), "format": 2})
