"""Monitoring rows: stability (PSI) every night, performance once a month end's outcomes mature."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

import pytest

from riskdesk import nightly
from riskdesk.lending.models import Loan, Product
from riskdesk.riskmodels import monitoring
from riskdesk.riskmodels.models import ModelMonitor, ModelPerformance, ScoreDistribution
from tests.riskmodels.test_features import pay
from tests.riskmodels.test_scoring_step import scorecard_version, second_borrower_loan

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)


def counts(version_id: int, feature: str, loans: dict[int, int]) -> None:
    ScoreDistribution.objects.bulk_create(
        ScoreDistribution(model_version_id=version_id, business_date=DAY, feature=feature, bin=k, loans=n)
        for k, n in loans.items()
    )


def test_a_nights_psi_of_the_score_and_of_each_feature_and_its_alert() -> None:
    version = scorecard_version()  # trained on score shares 0.1 0.2 0.4 0.2 0.1; dpd 0.7 0.2 0.1 0 0
    counts(version.pk, "", {0: 25, 1: 20, 2: 25, 3: 20, 4: 10})
    counts(version.pk, "dpd", {0: 50, 1: 30, 2: 20})
    counts(version.pk, "band", {0: 60, 1: 30, 4: 10})
    assert monitoring.monitors_record(DAY) == 1
    monitor = ModelMonitor.objects.get(model_version=version, business_date=DAY)
    # Sum of (a - e) ln(a / e) over the bins that moved.
    score_psi = 0.15 * math.log(0.25 / 0.1) + (0.25 - 0.4) * math.log(0.25 / 0.4)
    dpd_psi = -0.2 * math.log(0.5 / 0.7) + 0.1 * math.log(0.3 / 0.2) + 0.1 * math.log(0.2 / 0.1)
    assert (monitor.loans, monitor.psi, monitor.alert) == (100, pytest.approx(score_psi), "watch")
    assert score_psi == pytest.approx(0.2079, abs=1e-4)
    assert monitor.feature_psi["dpd"] == pytest.approx(dpd_psi)
    assert set(monitor.feature_psi) == {"dpd"}  # no counts for the other features: no PSI
    assert monitor.band_mix == {"A": 60, "B": 30, "E": 10}


def test_the_alert_is_act_at_a_psi_of_a_quarter_or_more_and_a_rerun_rewrites_the_row() -> None:
    version = scorecard_version()
    counts(version.pk, "", {0: 40, 1: 20, 2: 10, 3: 20, 4: 10})
    monitoring.monitors_record(DAY)
    monitoring.monitors_record(DAY)
    monitor = ModelMonitor.objects.get(model_version=version, business_date=DAY)
    assert (monitor.psi, monitor.alert) == (pytest.approx(0.6 * math.log(4)), "act")


def test_performance_is_written_once_per_matured_month_end(make_loan: Callable[..., Loan], product: Product) -> None:
    make_loan()  # never paid: 31 days past due (M2) at 03-31, M3 on 04-30
    make_loan(principal="3000.00", term=3, disbursed_on=date(2026, 3, 10))  # never pays: 31 days on 05-11
    pays = make_loan(principal="2000.00", term=3, disbursed_on=date(2026, 3, 10))
    for on in (date(2026, 4, 10), date(2026, 5, 10)):
        pay(pays, on)
    second_borrower_loan(product, disbursed_on=date(2026, 3, 31))  # first due 04-30: 31 days only on 05-31
    version = scorecard_version()
    nightly.close_days(as_of=date(2026, 5, 29))
    assert not ModelPerformance.objects.filter(observation_month=date(2026, 3, 31)).exists()
    nightly.close_days(as_of=date(2026, 5, 30))  # 03-31 + 60 days
    row = ModelPerformance.objects.get(model_version=version, observation_month=date(2026, 3, 31))
    # At 03-31 the never-paid loan is over 30 (z = 0.25, PD 0.562, band E); the three others
    # are current with no payment yet (z = -3.24, PD 0.0377, band B). Bad: the roll and the
    # loan reaching 31 days; so AUC = (1 + 1 + 1/2 + 1/2) / 4, KS = 1/2.
    high, low = 1 / (1 + math.exp(-0.25)), 1 / (1 + math.exp(3.24))
    assert (row.loans, row.bads, row.computed_on) == (4, 2, date(2026, 5, 30))
    assert (row.auc, row.gini, row.ks) == (pytest.approx(0.75), pytest.approx(0.5), pytest.approx(0.5))
    assert row.calibration == [
        {"band": "B", "loans": 3, "predicted": pytest.approx(low, abs=1e-6), "observed": pytest.approx(1 / 3)},
        {"band": "E", "loans": 1, "predicted": pytest.approx(high, abs=1e-6), "observed": 1.0},
    ]
    # Every month end scored and matured by then has its row, once.
    months = list(ModelPerformance.objects.values_list("observation_month", flat=True))
    assert months == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert monitoring.performance_record(date(2026, 5, 30)) == 0
    monitor = ModelMonitor.objects.get(model_version=version, business_date=date(2026, 5, 30))
    assert monitor.loans == 4 and sum(monitor.band_mix.values()) == 4
