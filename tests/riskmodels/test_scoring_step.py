"""Close of day step 3: the champion's scores on the loans, history rows, reruns and crashes.

The models are tests/riskmodels/specs.py's tiny scorecard (segment, dpd, days since the
last payment, product; intercept -2.5), so a PD is worked out by hand from its WOE:
z = -2.5 + sum(coefficient x WOE), PD = 1 / (1 + e^-z), points = offset - factor x z.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.db.models import Sum

from riskdesk import nightly
from riskdesk.core.jobs import step_run
from riskdesk.core.models import JobChunk, JobRun
from riskdesk.lending import services
from riskdesk.lending.models import Loan, Product
from riskdesk.riskmodels import scoring
from riskdesk.riskmodels.models import BandChange, LoanScore, ModelVersion, ScoreDistribution
from riskdesk.riskmodels.scorecard import Scorecard
from riskdesk.riskmodels.services import model_version_promote
from tests.riskmodels.specs import tiny_spec

pytestmark = pytest.mark.django_db

FACTOR = 20 / math.log(2)
OFFSET = 600 - FACTOR * math.log(50)


def scorecard_version(*, version: int = 1, status: str = "champion", intercept: float | None = None) -> ModelVersion:
    """A model version of the tiny spec, with training shares as its bins' counts."""
    spec = tiny_spec()
    if intercept is not None:
        spec["intercept"] = intercept
    features = {}
    for feature in spec["features"]:
        counts = [b["count"] for b in feature["bins"]]
        features[feature["code"]] = [c / sum(counts) for c in counts]
    return ModelVersion.objects.create(
        version=version,
        status=status,
        base_score=Decimal("600"),
        base_odds=Decimal("50"),
        pdo=Decimal("20"),
        training_start=date(2025, 1, 31),
        training_end=date(2025, 12, 31),
        spec=spec,
        training_distribution={"score": [0.1, 0.2, 0.4, 0.2, 0.1], "features": features},
    )


def by_hand(z: float) -> tuple[str, Decimal, Decimal]:
    """(band, PD, score) of a linear predictor z, as the loan stores them."""
    pd_ = 1 / (1 + math.exp(-z))
    band = next(b["band"] for b in tiny_spec()["bands"] if pd_ <= b["max_pd"])
    return band, Decimal(str(round(pd_, 6))), Decimal(str(round(OFFSET - FACTOR * z, 2)))


# z of the tiny spec: segment to_30 (WOE 0.3, coefficient -0.5), product jiebei (0.2, -0.4),
# dpd 1-14 (-0.6, -0.9) or 0 (0.8), no payment yet (missing, -0.3, coefficient -0.7).
Z_LATE_NEVER_PAID = -2.5 - 0.5 * 0.3 - 0.9 * -0.6 - 0.7 * -0.3 - 0.4 * 0.2  # -1.98: band D
Z_CURRENT_NEVER_PAID = -2.5 - 0.5 * 0.3 - 0.9 * 0.8 - 0.7 * -0.3 - 0.4 * 0.2  # -3.24: band B


def risk(loan: Loan) -> tuple[str, Decimal | None, Decimal | None, str]:
    loan.refresh_from_db()
    return loan.risk_band, loan.risk_pd, loan.risk_score, loan.risk_reasons


def second_borrower_loan(product: Product, disbursed_on: date = date(2026, 2, 1)) -> Loan:
    borrower = services.borrower_register(
        name="王五", national_id="110101199303033456", phones=[{"number": "13700137000", "label": "mobile"}]
    )
    line = services.credit_line_open(borrower=borrower, limit=Decimal("50000.00"))
    return services.loan_originate(
        credit_line=line,
        product=product,
        principal=Decimal("6000.00"),
        term=6,
        method="equal_installment",
        disbursed_on=disbursed_on,
    )


def test_without_a_champion_the_step_scores_nothing(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    scorecard_version(status="challenger")
    nightly.close_days(as_of=date(2026, 3, 6))
    run = JobRun.objects.get(step=scoring.STEP_NAME, business_date=date(2026, 3, 6))
    assert (run.status, run.rows) == ("done", {"scored": 0})
    assert risk(loan) == ("", None, None, "")
    assert not LoanScore.objects.exists() and not ScoreDistribution.objects.exists()


def test_a_promoted_models_bands_appear_on_the_loans_after_the_next_close(
    make_loan: Callable[..., Loan], users: dict[str, User]
) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 5))
    version = scorecard_version(status="challenger")
    model_version_promote(model_version=version, comment="beats v0 out of time", actor=users["admin"])
    assert risk(loan) == ("", None, None, "")
    nightly.close_days(as_of=date(2026, 3, 6))
    # On 03-06 February's installment is 6 days late and nothing was ever paid.
    band, pd_, score = by_hand(Z_LATE_NEVER_PAID)
    assert band == "D"
    # dpd costs 0.9 x (0.8 + 0.6) x factor = 36.4 points, no payment 0.7 x 0.8 x factor = 16.2.
    assert risk(loan) == (band, pd_, score, "dpd,days_since_payment")
    assert list(BandChange.objects.values_list("on", "loan_id", "from_band", "to_band")) == [
        (date(2026, 3, 6), loan.pk, "", "D")
    ]
    assert not BandChange.objects.get().is_downgrade
    run = JobRun.objects.get(step=scoring.STEP_NAME, business_date=date(2026, 3, 6))
    assert run.rows["scored"] == 1 and run.rows["loans_changed"] == 1 and run.rows["band_changes"] == 1


def test_the_champion_writes_the_loan_and_a_challenger_only_scores(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    champion = scorecard_version()
    challenger = scorecard_version(version=2, status="challenger", intercept=-4.0)
    nightly.close_days(as_of=date(2026, 3, 6))
    band, pd_, _ = by_hand(Z_LATE_NEVER_PAID)
    assert risk(loan)[:2] == (band, pd_)
    scores = {s.model_version_id: s for s in LoanScore.objects.filter(business_date=date(2026, 3, 6))}
    assert (scores[champion.pk].band, scores[champion.pk].pd) == (band, pd_)
    # The challenger's intercept is 1.5 lower: z = -3.48, PD 0.0299, band B.
    assert (scores[challenger.pk].band, scores[challenger.pk].pd) == (
        "B",
        Decimal(str(round(1 / (1 + math.exp(3.48)), 6))),
    )
    assert scores[champion.pk].reasons == [
        {"feature": "dpd", "value": 6.0, "points_lost": pytest.approx(FACTOR * 0.9 * 1.4)},
        {"feature": "days_since_payment", "value": None, "points_lost": pytest.approx(FACTOR * 0.7 * 0.8)},
    ]
    assert set(BandChange.objects.values_list("model_version_id", flat=True)) == {champion.pk}
    for version in (champion, challenger):
        assert distribution(version, date(2026, 3, 6), "") == 1
        assert distribution(version, date(2026, 3, 6), "dpd") == 1


def distribution(version: ModelVersion, day: date, feature: str) -> int:
    rows = ScoreDistribution.objects.filter(model_version=version, business_date=day, feature=feature)
    return rows.aggregate(n=Sum("loans"))["n"] or 0


def test_history_is_kept_daily_in_collections_and_for_every_loan_at_month_end(
    make_loan: Callable[..., Loan], product: Product
) -> None:
    late = make_loan()  # never paid: late from 03-01, a case opens after grace
    current = make_loan(principal="3000.00", term=3, disbursed_on=date(2026, 3, 20))  # same borrower: in the case
    elsewhere = second_borrower_loan(product, disbursed_on=date(2026, 3, 20))  # nothing due, no case
    version = scorecard_version()
    nightly.close_days(as_of=date(2026, 3, 30))

    def kept(day: date) -> set[int]:
        return set(LoanScore.objects.filter(model_version=version, business_date=day).values_list("loan_id", flat=True))

    assert kept(date(2026, 3, 2)) == {late.pk}  # past due, in grace: no case yet
    assert kept(date(2026, 3, 30)) == {late.pk, current.pk}  # the borrower's case is open
    nightly.close_days(as_of=date(2026, 3, 31))
    assert kept(date(2026, 3, 31)) == {late.pk, current.pk, elsewhere.pk}
    nightly.close_days(as_of=date(2026, 4, 1))
    assert kept(date(2026, 4, 1)) == {late.pk, current.pk}
    assert distribution(version, date(2026, 4, 1), "") == 3


def test_a_done_step_reruns_as_a_no_op_and_a_forced_rerun_duplicates_nothing(
    make_loan: Callable[..., Loan], product: Product
) -> None:
    make_loan()
    second_borrower_loan(product)
    version = scorecard_version()
    day = date(2026, 3, 31)
    nightly.close_days(as_of=day)
    before = snapshot_of(version, day)
    run = step_run(scoring.SCORING_STEP, day)
    assert run.attempts == 1 and snapshot_of(version, day) == before
    JobRun.objects.filter(step=scoring.STEP_NAME, business_date=day).delete()
    assert step_run(scoring.SCORING_STEP, day).status == "done"
    assert snapshot_of(version, day) == before


def snapshot_of(version: ModelVersion, day: date) -> dict[str, Any]:
    return {
        "scores": sorted(LoanScore.objects.filter(business_date=day).values_list("loan_id", "model_version_id", "pd")),
        "bands": sorted(BandChange.objects.values_list("on", "loan_id", "from_band", "to_band")),
        "distribution": sorted(
            ScoreDistribution.objects.filter(business_date=day).values_list("feature", "bin", "loans")
        ),
        "loans": sorted(Loan.objects.values_list("id", "risk_band", "risk_pd", "risk_score", "risk_reasons")),
        "scored": distribution(version, day, ""),
    }


def test_a_crashed_chunk_resumes_without_duplicates(
    make_loan: Callable[..., Loan], product: Product, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SCORING_CHUNK_LOANS = 1  # one chunk per loan id
    loans = [make_loan(), make_loan(principal="3000.00", term=3), second_borrower_loan(product)]
    version = scorecard_version()
    day = date(2026, 3, 31)
    nightly.close_days(as_of=day - date.resolution)
    real, calls = scoring.scores_write, {"n": 0}

    def crash_on_the_second_chunk(*args: Any, **kwargs: Any) -> dict[str, int]:
        calls["n"] += 1
        rows = real(*args, **kwargs)
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return rows

    monkeypatch.setattr(scoring, "scores_write", crash_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        nightly.close_days(as_of=day)
    run = JobRun.objects.get(step=scoring.STEP_NAME, business_date=day)
    assert (run.status, run.chunks_done) == ("failed", 1)
    assert LoanScore.objects.filter(business_date=day).count() == 1  # the first chunk's, committed
    nightly.close_days(as_of=day)
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.attempts) == ("done", run.chunks_total, 2)
    assert JobChunk.objects.filter(job_run=run, done=True).count() == run.chunks_total
    # Month end: every loan has one row, counted once.
    assert sorted(LoanScore.objects.filter(business_date=day).values_list("loan_id", flat=True)) == sorted(
        x.pk for x in loans
    )
    assert distribution(version, day, "") == 3 and distribution(version, day, "band") == 3


def test_history_reasons_are_the_scorers_own_json() -> None:
    frame = pd.DataFrame(
        {
            "segment": ["to_30", "over_30", "to_30", "to_30"],
            "dpd": [0.0, 45.0, 6.0, 0.0],
            "days_since_payment": [3.0, np.nan, 40.0, 12.5],
            "product": ["jiebei", "cash", "xl", "other"],
        },
        index=pd.Index([11, 12, 13, 14], name="loan_id"),
    )
    scores = Scorecard.from_spec(tiny_spec()).score(frame)
    rows = np.arange(len(frame))
    assert scoring.reasons_json(scores, rows) == [json.dumps(scores.reasons(k)) for k in rows]
