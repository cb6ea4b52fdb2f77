"""AUC, KS, Gini, PSI and calibration by band, against scikit-learn and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score, roc_curve

from riskdesk.riskmodels import metrics


def test_auc_of_a_small_example_is_three_quarters() -> None:
    # Of the four (bad, good) pairs, three rank the bad higher: (0.35 < 0.4) is the miss.
    y, score = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    assert metrics.auc(y, score) == pytest.approx(0.75, abs=1e-15)
    assert roc_auc_score(y, score) == pytest.approx(0.75, abs=1e-15)


def test_ks_of_a_small_example_is_half() -> None:
    # Cut above 0.8: TPR 0.5, FPR 0; above 0.35: TPR 1, FPR 0.5; max(TPR - FPR) = 0.5.
    assert metrics.ks([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.5, abs=1e-15)


def test_gini_is_twice_auc_minus_one() -> None:
    assert metrics.gini([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.5, abs=1e-15)


def test_tied_scores_count_half_in_auc() -> None:
    assert metrics.auc([0, 1], [0.3, 0.3]) == 0.5
    assert metrics.ks([0, 1], [0.3, 0.3]) == 0.0


def test_metrics_are_none_without_both_goods_and_bads() -> None:
    assert metrics.auc([0, 0, 0], [0.1, 0.2, 0.3]) is None
    assert metrics.ks([1, 1], [0.1, 0.2]) is None
    assert metrics.gini([], []) is None
    assert metrics.sample_summary([], []) == {
        "loans": 0,
        "bads": 0,
        "bad_rate": None,
        "auc": None,
        "ks": None,
        "gini": None,
    }


def test_sample_summary_counts_loans_and_bads() -> None:
    summary = metrics.sample_summary([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert (summary["loans"], summary["bads"], summary["bad_rate"]) == (4, 2, 0.5)
    assert summary["auc"] == pytest.approx(0.75)


@st.composite
def outcomes_and_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=2, max_value=60))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    if y.min() == y.max():
        y[0] = 1 - y[0]
    # Few distinct values, so ties are common: the case where rank arithmetic goes wrong.
    score = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), dtype=float) / 8
    return y, score


@settings(max_examples=300, deadline=None)
@given(outcomes_and_scores())
def test_auc_equals_scikit_learn(sample: tuple[np.ndarray, np.ndarray]) -> None:
    y, score = sample
    assert metrics.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(outcomes_and_scores())
def test_ks_equals_max_tpr_minus_fpr_of_scikit_learn_roc(sample: tuple[np.ndarray, np.ndarray]) -> None:
    y, score = sample
    fpr, tpr, _ = roc_curve(y, score)
    assert metrics.ks(y, score) == pytest.approx(float(np.max(tpr - fpr)), abs=1e-12)


def test_psi_of_a_hand_computed_example() -> None:
    # Actual shares 0.3, 0.2, 0.5 against 0.25, 0.25, 0.5:
    # 0.05 ln(0.3/0.25) + (-0.05) ln(0.2/0.25) + 0 = 0.05 (ln 1.2 + ln 1.25) = 0.05 ln 1.5
    assert metrics.psi([0.25, 0.25, 0.5], [30, 20, 50]) == pytest.approx(0.05 * math.log(1.5), abs=1e-15)


def test_psi_is_zero_for_the_same_distribution() -> None:
    assert metrics.psi([0.1, 0.2, 0.7], [10, 20, 70]) == pytest.approx(0.0, abs=1e-15)


def test_psi_floors_an_empty_bin_at_eps() -> None:
    # Expected 0 in bin 3 counts as 1e-4: large, but finite.
    a = np.array([0.5, 0.25, 0.25])
    e = np.array([0.5, 0.5, 1e-4])
    expected = float(np.sum((a - e) * np.log(a / e)))
    assert metrics.psi([0.5, 0.5, 0.0], [2, 1, 1]) == pytest.approx(expected, abs=1e-12)
    assert math.isfinite(metrics.psi([0.5, 0.5], [4, 0]))


def test_psi_of_no_loans_is_nan_and_bins_must_match() -> None:
    assert math.isnan(metrics.psi([0.5, 0.5], [0, 0]))
    with pytest.raises(ValueError):
        metrics.psi([0.5, 0.5], [1, 2, 3])


@pytest.mark.parametrize(
    ("value", "alert"), [(0.0, "ok"), (0.0999, "ok"), (0.10, "watch"), (0.2499, "watch"), (0.25, "act"), (1.3, "act")]
)
def test_psi_alert_thresholds(value: float, alert: str) -> None:
    assert metrics.psi_alert(value) == alert


def test_calibration_by_band_lists_bands_present_in_order() -> None:
    rows = metrics.calibration_by_band(["C", "A", "A", "C", "C"], [0.1, 0.01, 0.03, 0.1, 0.13], [1, 0, 0, 0, 0])
    assert rows == [
        {"band": "A", "loans": 2, "predicted": pytest.approx(0.02), "observed": 0.0},
        {"band": "C", "loans": 3, "predicted": pytest.approx(0.11), "observed": pytest.approx(1 / 3)},
    ]
