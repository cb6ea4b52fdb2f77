"""The night's lineup: one champion per night whatever the registry does meanwhile, model
switches that cut no limit, challengers' agreement with the champion, and outcomes that
cannot be observed.

The tiny scorecard puts a current loan never paid since 01-31 in band B (z = -3.24) and,
from 03-01, one with 1-14 days past due in D (z = -1.98). With its intercept raised from
-2.5 to -1.0 the current loan's z is -1.74 (PD 14.9 %): band D.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from riskdesk import nightly
from riskdesk.lending.models import CreditLine, CreditLineEvent, Loan, LoanMonthSnapshot
from riskdesk.riskmodels import scoring
from riskdesk.riskmodels.features import outcomes_frame
from riskdesk.riskmodels.models import BandChange, LimitPolicy, LimitReduction, ModelMonitor, ScoringNight
from riskdesk.riskmodels.services import model_version_promote
from tests.riskmodels.test_scoring_step import scorecard_version

pytestmark = pytest.mark.django_db

CURRENT_DAY, LATE_DAY = date(2026, 2, 20), date(2026, 3, 1)


def cut_policy() -> LimitPolicy:
    return LimitPolicy.objects.create(
        effective_from=date(2026, 1, 1), reduce_on_bands="DE", reduce_by=Decimal("0.300"), minimum_limit=Decimal(0)
    )


def test_a_promotion_in_the_middle_of_a_night_leaves_that_night_to_its_champion(
    make_loan: Callable[..., Loan],
) -> None:
    loan = make_loan()
    first = scorecard_version()
    second = scorecard_version(version=2, status="challenger", intercept=-1.0)
    nightly.close_days(as_of=CURRENT_DAY - date.resolution)
    scoring.scoring_chunks(CURRENT_DAY)  # the night starts: its lineup is fixed

    # The registry changes while the night's chunks run (the service refuses this; a
    # direct write stands for any race the refusal might miss).
    first.status, second.status = "challenger", "champion"
    first.save(update_fields=["status"])
    second.save(update_fields=["status"])
    scoring.scoring_chunk(CURRENT_DAY, loan.pk, loan.pk)

    loan.refresh_from_db()
    assert loan.risk_band == "B"  # the first model's band, as the night began
    night = ScoringNight.objects.get(business_date=CURRENT_DAY)
    assert (night.champion_id, night.challengers) == (first.pk, [second.pk])


def test_a_model_switch_marks_its_band_changes_and_cuts_no_limit(
    make_loan: Callable[..., Loan], credit_line: CreditLine, users: dict[str, User]
) -> None:
    loan = make_loan()
    cut_policy()
    scorecard_version()
    raised = scorecard_version(version=2, status="challenger", intercept=-1.0)
    nightly.close_days(as_of=CURRENT_DAY - date.resolution)
    model_version_promote(model_version=raised, comment="more conservative", actor=users["admin"])

    nightly.close_days(as_of=CURRENT_DAY)

    change = BandChange.objects.get(on=CURRENT_DAY)
    assert (change.loan_id, change.from_band, change.to_band, change.model_switch) == (loan.pk, "B", "D", True)
    assert not change.is_downgrade
    assert not LimitReduction.objects.exists()
    assert CreditLine.objects.get(pk=credit_line.pk).limit == Decimal("100000.00")


def test_a_downgrade_under_the_same_champion_cuts_and_names_its_credit_line_event(
    make_loan: Callable[..., Loan], credit_line: CreditLine
) -> None:
    make_loan()
    cut_policy()
    scorecard_version()

    nightly.close_days(as_of=LATE_DAY)

    change = BandChange.objects.get(on=LATE_DAY)
    assert (change.from_band, change.to_band, change.model_switch) == ("B", "D", False)
    cut = LimitReduction.objects.get()
    event = CreditLineEvent.objects.get(credit_line=credit_line, kind="limit_change")
    assert (cut.band_change_id, cut.event_id) == (change.pk, event.pk)
    assert (event.limit_before, event.limit_after) == (Decimal("100000.00"), Decimal("70000.00"))


def test_each_challenger_monitor_says_how_often_it_agrees_with_the_champion(
    make_loan: Callable[..., Loan],
) -> None:
    make_loan()
    champion = scorecard_version()
    twin = scorecard_version(version=2, status="challenger")
    raised = scorecard_version(version=3, status="challenger", intercept=-1.0)

    nightly.close_days(as_of=CURRENT_DAY)

    monitors = {m.model_version_id: m for m in ModelMonitor.objects.filter(business_date=CURRENT_DAY)}
    assert (monitors[champion.pk].agreement, monitors[champion.pk].agreement_within_one) == (None, None)
    assert (monitors[twin.pk].agreement, monitors[twin.pk].agreement_within_one) == (1.0, 1.0)
    # B against D: two bands apart.
    assert (monitors[raised.pk].agreement, monitors[raised.pk].agreement_within_one) == (0.0, 0.0)


def test_a_loan_in_the_last_bucket_has_no_observable_outcome(
    make_loan: Callable[..., Loan],
) -> None:
    stuck, rolling = make_loan(), make_loan()
    month_end = date(2026, 8, 31)
    for loan, dpd, bucket in ((stuck, 200, "M7+"), (rolling, 45, "M2")):
        LoanMonthSnapshot.objects.create(
            month_end=month_end,
            loan=loan,
            dpd=dpd,
            bucket=bucket,
            outstanding_principal=Decimal("1000.00"),
            overdue_amount=Decimal("500.00"),
            status="active",
        )
    rolling.bucket_history.create(on=date(2026, 9, 15), from_bucket="M2", to_bucket="M3", dpd=61)

    outcomes = outcomes_frame(month_end)

    assert outcomes.loc[rolling.pk, "bad"] == 1.0
    assert outcomes.loc[stuck.pk, "segment"] == "over_30"
    assert outcomes["bad"].isna().to_dict() == {stuck.pk: True, rolling.pk: False}
