"""Reads of one loan's risk for the loan and case pages: its band and reasons, and its limit cuts.

A loan's reasons are the codes the champion wrote onto it (Loan.risk_reasons); their
values are the loan's features on the night that wrote them, never a kept LoanScore
row of another day (a month end's reasons and values may differ from tonight's).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from riskdesk.core.jobs import last_done
from riskdesk.core.vocabulary import label
from riskdesk.lending.models import CreditLineEvent, Loan
from riskdesk.riskmodels import features
from riskdesk.riskmodels.models import (
    RISK_BANDS,
    LimitReduction,
    LoanScore,
    ModelVersion,
    ScoringNight,
)
from riskdesk.riskmodels.scorecard import Scorecard, reason_value
from riskdesk.riskmodels.scoring import STEP_NAME as SCORING_STEP_NAME
from riskdesk.riskmodels.selectors import champion


@dataclass(frozen=True)
class RiskReason:
    """One of the three features costing the loan the most points, in words.

    `known` is False when no value is on record for the day the band is from (a closed
    loan whose last kept score did not name this feature); a known value may still be
    None, which means the feature itself is missing (no payment ever, say).
    """

    code: str
    label: Any
    known: bool = False
    value: Any = None
    points_lost: float | None = None


@dataclass(frozen=True)
class LoanRisk:
    """The champion's view of a loan, which model gave it and when, and the reasons with their values."""

    band: str
    pd: Decimal | None
    score: Decimal | None
    reasons: list[RiskReason]
    scored_by: ModelVersion | None
    scored_on: date | None
    open: bool = True


def reason_codes(loan: Loan) -> list[str]:
    return [code for code in (loan.risk_reasons or "").split(",") if code]


def champion_on(day: date | None) -> ModelVersion | None:
    """The version that was champion when `day` was scored.

    The night's lineup (ScoringNight), which every night that scored anything has; today's
    champion when `day` has none (a loan banded outside the step, as tests do).
    """
    night = ScoringNight.objects.filter(business_date=day).select_related("champion").first() if day else None
    return night.champion if night is not None else champion()


def loan_risk(loan: Loan) -> LoanRisk | None:
    """The loan's band, PD, score and reasons in words; None while no champion has scored it.

    An open loan was scored at the last close the scoring step finished; its reasons'
    values are its features as of that date. A closed loan keeps the score it had when
    it closed, dated by its latest kept LoanScore row (None when none was kept).
    """
    if not loan.risk_band:
        return None
    codes = reason_codes(loan)
    if loan.status == Loan.Status.ACTIVE:
        scored_on = last_done(SCORING_STEP_NAME)
        scored_by = champion_on(scored_on)
        reasons = reasons_as_scored(loan, codes, scored_on, scored_by)
    else:
        scored_on = (
            LoanScore.objects.filter(loan=loan)
            .order_by("-business_date")
            .values_list("business_date", flat=True)
            .first()
        )
        scored_by = champion_on(scored_on)
        reasons = reasons_as_kept(loan, codes, scored_by)
    return LoanRisk(
        band=loan.risk_band,
        pd=loan.risk_pd,
        score=loan.risk_score,
        reasons=reasons,
        scored_by=scored_by,
        scored_on=scored_on,
        open=loan.status == Loan.Status.ACTIVE,
    )


def reasons_as_scored(
    loan: Loan, codes: list[str], day: date | None, scored_by: ModelVersion | None
) -> list[RiskReason]:
    """The reasons with the loan's features as of `day` (one features statement for this loan).

    Points lost come from the scorecard that scored the night: its best bin's points less
    the points of the bin the value falls in, as scoring computed them.
    """
    frame = features.features_frame(day, base="tonight", lo=loan.pk, hi=loan.pk) if day is not None and codes else None
    if frame is None or loan.pk not in frame.index:
        return [RiskReason(code, label(code)) for code in codes]
    row = frame.loc[[loan.pk]]
    lost = _points_lost(scored_by, row)
    return [
        RiskReason(code, label(code), known=True, value=reason_value(row.iloc[0][code]), points_lost=lost.get(code))
        for code in codes
    ]


def _points_lost(version: ModelVersion | None, row: pd.DataFrame) -> dict[str, float]:
    if version is None:
        return {}
    scorecard = Scorecard.from_spec(version.spec)
    scores = scorecard.score(row)
    return {code: float(scores.points_lost[0, j]) for j, code in enumerate(scorecard.codes)}


def reasons_as_kept(loan: Loan, codes: list[str], scored_by: ModelVersion | None) -> list[RiskReason]:
    """The reasons with the values of the loan's last kept score, for the codes that row names."""
    kept = (
        LoanScore.objects.filter(loan=loan, model_version=scored_by).order_by("-business_date").first()
        if scored_by
        else None
    )
    by_code = {r.get("feature"): r for r in (kept.reasons if kept else [])}
    return [
        RiskReason(
            code,
            label(code),
            known=True,
            value=by_code[code].get("value"),
            points_lost=by_code[code].get("points_lost"),
        )
        if code in by_code
        else RiskReason(code, label(code))
        for code in codes
    ]


# -- limit cuts --------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitCut:
    """A limit cut by the limit policy, with the band change and the policy behind it."""

    reduction: LimitReduction

    @property
    def band_change(self) -> Any:
        return self.reduction.band_change

    @property
    def policy(self) -> Any:
        return self.reduction.policy

    @property
    def percent(self) -> Decimal:
        return (self.policy.reduce_by * 100).normalize()

    @property
    def bands(self) -> str:
        """The policy's bands as read: "D–E" for a run of neighbours, "B, D" otherwise."""
        bands = self.policy.reduce_on_bands
        if len(bands) < 2:
            return bands
        return f"{bands[0]}–{bands[-1]}" if bands in RISK_BANDS else ", ".join(bands)


def limit_cuts(events: Iterable[CreditLineEvent]) -> dict[int, LimitCut]:
    """The cut behind each `risk_band_downgrade` event among `events`, by event id, in one query."""
    ids = [e.pk for e in events if e.reason == "risk_band_downgrade"]
    if not ids:
        return {}
    reductions = LimitReduction.objects.filter(event_id__in=ids).select_related("band_change", "policy")
    return {r.event_id: LimitCut(r) for r in reductions}
