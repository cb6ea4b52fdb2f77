"""Train a delinquency scorecard on the book's own history and store it as a model version.

The pipeline (`fit_scorecard`, shared with the German credit check): optbinning bins
every feature against the target (numerical features monotonic where the risk has an
obvious direction, `Feature.trend`), WOE and IV come from those bins; features with
IV below 0.02 are dropped, a logistic regression is fitted on the WOE of the rest, and
any feature whose coefficient has the wrong sign for WOE (WOE is high where bads are
rare, so every coefficient must be negative) is dropped, the weakest first, until all
agree. optbinning's Scorecard then scales the regression to points ("pdo_odds": the
base score at the base odds good:bad, `pdo` points to double the odds, no rounding),
and `FittedScorecard.spec` freezes bins, WOE, points and coefficients into the JSON
that `scorecard.Scorecard` scores with in the nightly path.

Missing values (no payment yet, nothing due in the window) keep their own WOE
("empirical"), since not having paid is itself a signal; special codes are not used.

The training set (`training_set`) is every matured month end of the book: the loans
of the month-end snapshot at D with their features as of D and their outcome over
the horizon after D. A month end is matured once D + 60 days has closed; so training
looks no later than the last closed business day, or month ends whose horizon is still
open would count their not-yet-seen bads as goods. Loan-months whose outcome cannot be
observed (the over-30 target of a loan already in the terminal bucket) are left out.
Each month end is sampled uniformly down to TRAINING_ROWS_PER_MONTH loan-months, so a
book of a million loans trains in the memory of one month's frame. The last
`oot_months` month ends are held out as the out-of-time sample.

One model covers both segments, with `segment` as a feature: each segment gets its own
base rate through the segment's WOE while sharing the other features' bins; the
over-30 population is too small on this book for a scorecard of its own.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import translation

from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.errors import DomainError
from riskdesk.core.jobs import last_closed_day
from riskdesk.lending.models import LoanMonthSnapshot
from riskdesk.riskmodels import features as book_features
from riskdesk.riskmodels import metrics
from riskdesk.riskmodels.features import FEATURES, Feature
from riskdesk.riskmodels.models import ModelVersion
from riskdesk.riskmodels.scorecard import SPEC_FORMAT, Scorecard, Scores, bin_counts, categorical_text

# Selection: a feature below this information value predicts too little to keep (the
# usual "weak" cut-off of credit scoring: < 0.02 useless, 0.02-0.1 weak, 0.1-0.3 medium).
IV_MIN = 0.02
# Refuse to train on less: fewer matured month ends than this, or fewer bads.
MIN_MATURED_MONTHS = 3
MIN_TRAIN_BADS = 30
MIN_OOT_BADS = 5
# Loan-months read from each month end at most: enough for stable bins (2 % of 50,000 is
# a 1,000-row bin), and a million-loan book needs one month's frame in memory, not twelve.
TRAINING_ROWS_PER_MONTH = 50_000
# Binning of a book of ~10k loan-months where the riskiest values (DPD over 30) are a
# few percent of rows: pre-bins as small as 1 % so they are not merged away, final bins
# at least 2 % of rows so their WOE is not noise.
MIN_PREBIN_SIZE = 0.01
MIN_BIN_SIZE = 0.02
MAX_N_PREBINS = 20
# Almost no regularisation: the WOE columns are already smoothed by the bins.
LOGISTIC_C = 1e6
SCORE_DECILES = np.arange(1, 10) / 10
# optbinning's treatment of special codes (none here) and missing values, in fit and spec.
METRIC_SPECIAL = 0
METRIC_MISSING = "empirical"

FeatureLike = Feature | tuple[str, str, str]

# The largest value ModelVersion's column holds for each scaling setting, at its decimal places.
SCALING_MAX = {"base_score": Decimal("99999.99"), "base_odds": Decimal("99999.9999"), "pdo": Decimal("99999.99")}


@dataclass(frozen=True)
class Scaling:
    """Points to double the odds: `base_score` points at odds `base_odds` (good:bad)."""

    base_score: float
    base_odds: float
    pdo: float

    @classmethod
    def from_settings(
        cls, base_score: Decimal | None = None, base_odds: Decimal | None = None, pdo: Decimal | None = None
    ) -> Scaling:
        """Return the given scaling, settings.RISKDESK_SCORECARD_SCALING where not given, each checked."""
        default = settings.RISKDESK_SCORECARD_SCALING
        given = {"base_score": base_score, "base_odds": base_odds, "pdo": pdo}
        return cls(**{name: _scaling_value(name, value, default[name]) for name, value in given.items()})

    def optbinning_params(self) -> dict[str, float]:
        return {"pdo": self.pdo, "odds": self.base_odds, "scorecard_points": self.base_score}


def _scaling_value(name: str, value: Decimal | None, default: str) -> float:
    """Return a scaling setting as a float; refused (invalid_scaling) outside (0, SCALING_MAX[name]].

    A zero or negative pdo or odds has no log-odds scale; a value the ModelVersion column
    cannot hold exactly would store another scaling than the spec's.
    """
    value = Decimal(str(value)) if value is not None else Decimal(default)
    most = SCALING_MAX[name]
    if not (value.is_finite() and 0 < value <= most and value == value.quantize(most)):
        places = -most.as_tuple().exponent
        raise DomainError(
            "invalid_scaling",
            f"{name} must be above 0 and at most {most}, with at most {places} decimal places; got {value}.",
            field=name,
        )
    return float(value)


def risk_bands() -> list[dict[str, Any]]:
    """Return the spec's bands from settings.RISKDESK_RISK_BANDS: A-D by PD upper bound, E up to 1."""
    bounds = sorted(settings.RISKDESK_RISK_BANDS.items())
    bands = [{"band": band, "max_pd": float(Decimal(bound))} for band, bound in bounds]
    return [*bands, {"band": chr(ord(bands[-1]["band"]) + 1), "max_pd": 1.0}]


def _as_feature(feature: FeatureLike) -> Feature:
    return feature if isinstance(feature, Feature) else Feature(*feature)


def _prepared(frame: pd.DataFrame, features: Sequence[Feature]) -> pd.DataFrame:
    """Return the feature columns as optbinning and the scorer both read them."""
    columns = {}
    for f in features:
        column = frame[f.code]
        columns[f.code] = categorical_text(column) if f.kind == "categorical" else column.astype(np.float64)
    return pd.DataFrame(columns, index=frame.index)


def _binning_process(features: Sequence[Feature]) -> Any:
    from optbinning import BinningProcess  # the training library stays out of the nightly path

    return BinningProcess(
        variable_names=[f.code for f in features],
        categorical_variables=[f.code for f in features if f.kind == "categorical"] or None,
        max_n_prebins=MAX_N_PREBINS,
        min_prebin_size=MIN_PREBIN_SIZE,
        min_bin_size=MIN_BIN_SIZE,
        binning_fit_params={f.code: {"monotonic_trend": f.trend} for f in features if f.kind == "numerical"},
    )


def _logistic_regression(random_state: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(solver="lbfgs", C=LOGISTIC_C, max_iter=1000, random_state=random_state)


def _select(x: pd.DataFrame, y: np.ndarray, features: Sequence[Feature], random_state: int) -> tuple[dict, list]:
    """Return IV per feature and the selected codes: IV >= IV_MIN, then sign-consistent coefficients.

    A positive coefficient on WOE says "more bads where bads are rarer": collinearity,
    not risk. The weakest (lowest IV) such feature goes first, then the fit is redone.
    """
    process = _binning_process(features)
    with warnings.catch_warnings():
        # optbinning 1.0 calls pandas 3's deprecated inplace keywords: noise, not news.
        warnings.simplefilter("ignore")
        process.fit(x, y)
        summary = process.summary().set_index("name")
    iv = {f.code: float(summary.loc[f.code, "iv"]) for f in features}
    selected = [f.code for f in features if iv[f.code] >= IV_MIN]
    woe = process.transform(x, metric="woe", metric_special=METRIC_SPECIAL, metric_missing=METRIC_MISSING)
    while selected:
        regression = _logistic_regression(random_state).fit(woe[selected], y)
        wrong = [code for code, c in zip(selected, regression.coef_[0], strict=True) if c > 0]
        if not wrong:
            break
        selected.remove(min(wrong, key=lambda code: (iv[code], code)))
    return iv, selected


@dataclass
class FittedScorecard:
    """A scorecard fitted by optbinning, its IV per feature, and the frozen spec it exports."""

    features: tuple[Feature, ...]
    selected: list[str]
    iv: dict[str, float]
    scaling: Scaling
    bands: list[dict[str, Any]]
    optbinning: Any  # optbinning.Scorecard: for checks against the frozen spec
    score_bins: list[float]

    def spec(self) -> dict[str, Any]:
        """Return the frozen JSON spec (format in scorecard.py's docstring)."""
        return {
            "format": SPEC_FORMAT,
            "features": [self._feature_spec(f) for f in self.features if f.code in self.selected],
            "intercept": float(self.optbinning.estimator_.intercept_[0]),
            "scaling": {
                "base_score": self.scaling.base_score,
                "base_odds": self.scaling.base_odds,
                "pdo": self.scaling.pdo,
            },
            "bands": [dict(b) for b in self.bands],
            "score_bins": list(self.score_bins),
        }

    def _feature_spec(self, feature: Feature) -> dict[str, Any]:
        binned = self.optbinning.binning_process_.get_binned_variable(feature.code)
        table = self.optbinning.table("detailed")
        table = table[table["Variable"] == feature.code].reset_index(drop=True)
        labels = [str(b) for b in table["Bin"]]
        special_bin, missing_bin = labels.index("Special"), labels.index("Missing")
        rows = []
        for i, row in table.iterrows():
            # The WOE the regression saw: special rows get METRIC_SPECIAL, missing its own.
            woe = float(METRIC_SPECIAL) if i == special_bin else float(row["WoE"])
            rows.append(
                {
                    "label": _bin_label(row["Bin"]),
                    "woe": woe,
                    "points": float(row["Points"]),
                    "count": int(row["Count"]),
                    "event_rate": float(row["Event rate"]),
                }
            )
        spec: dict[str, Any] = {
            "code": feature.code,
            "kind": feature.kind,
            "coefficient": float(table["Coefficient"].iloc[0]),
        }
        if feature.kind == "numerical":
            spec["splits"] = [float(s) for s in binned.splits]
        else:
            spec["categories"] = [[str(c) for c in categories] for categories in binned.splits]
            spec["unknown_woe"] = _unknown_woe(binned, spec["categories"])
        spec.update(
            bins=rows,
            special_bin=special_bin,
            special_codes=[],
            missing_bin=missing_bin,
            best_points=max(r["points"] for r in rows if r["count"] > 0),
        )
        return spec


def _bin_label(value: Any) -> str:
    if isinstance(value, str):
        return value
    return ", ".join(str(c) for c in value)


def _unknown_woe(binned: Any, categories: list[list[str]]) -> float:
    """Return the WOE optbinning's transform gives a category it never saw (its cat_unknown)."""
    known = {c for bin_categories in categories for c in bin_categories}
    unseen = "unseen"
    while unseen in known:
        unseen += "_"
    woe = binned.transform(
        np.array([unseen], dtype=object), metric="woe", metric_special=METRIC_SPECIAL, metric_missing=METRIC_MISSING
    )
    return float(woe[0])


def fit_scorecard(
    frame: pd.DataFrame,
    y: Any,
    features: Sequence[FeatureLike],
    *,
    scaling: Scaling,
    bands: list[dict[str, Any]] | None = None,
    random_state: int = 0,
) -> FittedScorecard:
    """Bin, select, fit and scale a scorecard on `frame` (one row per case) and `y` (1 = bad)."""
    from optbinning import Scorecard as OptbinningScorecard

    chosen = tuple(_as_feature(f) for f in features)
    x = _prepared(frame, chosen)
    y = np.asarray(y, dtype=np.int64)
    iv, selected = _select(x, y, chosen, random_state)
    if not selected:
        raise DomainError("no_predictive_feature", f"No feature reaches an information value of {IV_MIN}.")
    model = OptbinningScorecard(
        binning_process=_binning_process([f for f in chosen if f.code in selected]),
        estimator=_logistic_regression(random_state),
        scaling_method="pdo_odds",
        scaling_method_params=scaling.optbinning_params(),
        rounding=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x[selected], y, metric_special=METRIC_SPECIAL, metric_missing=METRIC_MISSING)
    points = model.score(x[selected])
    edges = np.unique(np.quantile(points, SCORE_DECILES))
    return FittedScorecard(
        features=chosen,
        selected=selected,
        iv=iv,
        scaling=scaling,
        bands=bands if bands is not None else risk_bands(),
        optbinning=model,
        score_bins=[float(e) for e in edges],
    )


def distribution_shares(scorecard: Scorecard, scores: Scores) -> dict[str, Any]:
    """Return the shares of rows per score bin and per feature bin (spec order): PSI's expected side."""
    counts = bin_counts(scorecard, scores)
    total = max(len(scores), 1)
    return {
        "score": [c / total for c in counts["score"]],
        "features": {code: [c / total for c in bins] for code, bins in counts["features"].items()},
    }


# -- the book's training set -----------------------------------------------------------


def matured_month_ends(as_of: date) -> list[date]:
    """Return the month ends with a loan snapshot whose longest horizon has closed by `as_of`."""
    horizon = timedelta(days=max(book_features.HORIZON_DAYS.values()))
    return sorted(
        LoanMonthSnapshot.objects.filter(month_end__lte=as_of - horizon).values_list("month_end", flat=True).distinct()
    )


class TrainingSet(NamedTuple):
    """Loan-months of the matured month ends, and how many each month end had."""

    frame: pd.DataFrame  # FEATURE_CODES columns, a fresh index
    bad: np.ndarray  # int64, 1 = bad
    observation: pd.Series  # the month end of each row
    # Per month end (index): observable loan-months before sampling, unobservable ones
    # left out, and the loan-months sampled.
    month_rows: pd.DataFrame


MONTH_ROWS_COLUMNS = ["observable", "unobservable", "sampled"]


def training_set(as_of: date) -> TrainingSet:
    """Return the loan-months of every matured month end, oldest first, each month sampled to the cap.

    A loan-month whose outcome cannot be observed (bad is NaN: an over-30 loan already in
    the terminal bucket cannot get worse; or no outcome row) is left out before anything
    is counted. Then each month end keeps a uniform sample of TRAINING_ROWS_PER_MONTH
    loan-months at most (`_month_sample`).
    """
    frames, bads, months, month_rows = [], [], [], {}
    for month_end in matured_month_ends(as_of):
        frame, bad, month_rows[month_end] = _month_sample(month_end)
        frames.append(frame)
        bads.append(bad)
        months.append(pd.Series([month_end] * len(frame), dtype=object))
    rows = pd.DataFrame.from_dict(month_rows, orient="index", columns=MONTH_ROWS_COLUMNS, dtype=np.int64)
    rows.index = pd.Index(list(month_rows), dtype=object)
    if not frames:
        return TrainingSet(
            pd.DataFrame(columns=[f.code for f in FEATURES]),
            np.zeros(0, dtype=np.int64),
            pd.Series([], dtype=object),
            rows,
        )
    return TrainingSet(
        pd.concat(frames, ignore_index=True), np.concatenate(bads), pd.concat(months, ignore_index=True), rows
    )


def _month_sample(month_end: date) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """Return one month end's observable loan-months sampled to the cap, their bad, and its row counts.

    The sample is uniform without replacement, seeded by the month end (YYYYMMDD) over the
    loans in id order, so the same book gives the same sample whatever order SQL returns.
    Uniform within the month keeps the month's bad rate unbiased; across months a capped
    month weighs TRAINING_ROWS_PER_MONTH rows rather than its size, so every large month
    counts the same in the fit. Rows come out in loan id order.
    """
    frame = book_features.features_frame(month_end, base="month_end")
    bad = book_features.outcomes_frame(month_end)["bad"].reindex(frame.index).to_numpy(dtype=np.float64)
    observed = np.flatnonzero(~np.isnan(bad))
    # Positions, not copies: one month's frame is the memory peak.
    observed = observed[np.argsort(frame.index.to_numpy()[observed], kind="stable")]
    keep = observed
    if len(observed) > TRAINING_ROWS_PER_MONTH:
        rng = np.random.default_rng(int(month_end.strftime("%Y%m%d")))
        keep = observed[np.sort(rng.choice(len(observed), size=TRAINING_ROWS_PER_MONTH, replace=False))]
    counts = {"observable": len(observed), "unobservable": len(bad) - len(observed), "sampled": len(keep)}
    return frame.iloc[keep], bad[keep].astype(np.int64), counts


def _refuse_thin_history(months: list[date], oot_months: int, y_train: np.ndarray, y_oot: np.ndarray) -> None:
    if len(months) < max(MIN_MATURED_MONTHS, oot_months + 1):
        raise DomainError(
            "not_enough_history",
            f"{len(months)} matured month ends; training needs at least {max(MIN_MATURED_MONTHS, oot_months + 1)}"
            f" ({oot_months} held out of time), each followed by 60 closed days.",
        )
    if int(y_train.sum()) < MIN_TRAIN_BADS or int(y_oot.sum()) < MIN_OOT_BADS:
        raise DomainError(
            "not_enough_history",
            f"{int(y_train.sum())} bads in training and {int(y_oot.sum())} out of time; "
            f"at least {MIN_TRAIN_BADS} and {MIN_OOT_BADS} are needed.",
        )


def validation_metrics(
    *,
    fitted: FittedScorecard,
    train: tuple[np.ndarray, Scores, pd.DataFrame, pd.Series],
    oot: tuple[np.ndarray, Scores, pd.DataFrame, pd.Series],
) -> dict[str, Any]:
    """Return the model version's metrics JSON: IV, selection, discrimination, calibration, by month."""
    samples = {"train": train, "oot": oot}
    result: dict[str, Any] = {
        "iv": fitted.iv,
        "selected": list(fitted.selected),
        **{name: metrics.sample_summary(y, s.pd) for name, (y, s, _, _) in samples.items()},
        "segments": {},
        "calibration": metrics.calibration_by_band(oot[1].band, oot[1].pd, oot[0]),
        "calibration_train": metrics.calibration_by_band(train[1].band, train[1].pd, train[0]),
        "by_month": [],
        "horizon_days": dict(book_features.HORIZON_DAYS),
        "features": _feature_labels(fitted.features),
    }
    for segment in ("to_30", "over_30"):
        result["segments"][segment] = {}
        for name, (y, s, frame, _) in samples.items():
            in_segment = (frame["segment"] == segment).to_numpy()
            result["segments"][segment][name] = metrics.sample_summary(y[in_segment], s.pd[in_segment])
    for name, (y, s, _, observation) in samples.items():
        month_of = observation.to_numpy()
        for month in sorted(set(month_of)):
            in_month = month_of == month
            summary = metrics.sample_summary(y[in_month], s.pd[in_month])
            del summary["bad_rate"]
            result["by_month"].append({"month": month.isoformat(), "sample": name, **summary})
    return result


def _feature_labels(features: Sequence[Feature]) -> dict[str, dict[str, str]]:
    with translation.override("en"):
        return {f.code: {"label": str(f.label), "kind": f.kind} for f in features}


def sampling_summary(month_rows: pd.DataFrame, oot_from: date) -> dict[str, Any]:
    """Return the cap and, per sample (train, oot), its loan-months before and after sampling."""
    in_oot = np.array([month >= oot_from for month in month_rows.index], dtype=bool)
    summary: dict[str, Any] = {"rows_per_month": TRAINING_ROWS_PER_MONTH}
    for name, months in (("train", ~in_oot), ("oot", in_oot)):
        totals = month_rows[months].sum()
        summary[name] = {
            "rows": int(totals["observable"]),
            "sampled": int(totals["sampled"]),
            "unobservable": int(totals["unobservable"]),
        }
    return summary


def _closed_as_of(as_of: date | None) -> date:
    """Return `as_of`, or the last closed business day; refused after it, or with none closed."""
    closed = last_closed_day()
    if closed is None:
        raise DomainError("not_enough_history", "No business day has been closed yet.")
    if as_of is not None and as_of > closed:
        raise DomainError(
            "as_of_not_closed",
            f"{as_of} is not closed yet: train as of {closed}, the last closed business day, or earlier.",
            field="as_of",
        )
    return as_of or closed


def model_version_train(
    *,
    as_of: date | None = None,
    oot_months: int = 3,
    base_score: Decimal | None = None,
    base_odds: Decimal | None = None,
    pdo: Decimal | None = None,
    note: str = "",
    actor: Actor = None,
) -> ModelVersion:
    """Train a scorecard on the matured month ends up to `as_of` and store it as a challenger.

    `as_of` defaults to, and may not be after, the last closed business day (as_of_not_closed):
    past it, a month end whose horizon is still open would look matured. Out of time: the
    last `oot_months` matured month ends; training: the ones before. Refused
    (invalid_scaling) for scaling outside its column, before the book is read; refused
    (not_enough_history) with no closed day, below MIN_MATURED_MONTHS month ends,
    MIN_TRAIN_BADS training bads or MIN_OOT_BADS out-of-time bads.
    """
    if oot_months < 1:
        raise DomainError("invalid_oot_months", "At least one month end must be held out of time.", field="oot_months")
    scaling = Scaling.from_settings(base_score, base_odds, pdo)
    as_of = _closed_as_of(as_of)
    frame, y, observation, month_rows = training_set(as_of)
    months = sorted(set(observation))
    oot_from = months[-oot_months] if len(months) > oot_months else date.max
    in_oot = (observation >= oot_from).to_numpy() if len(months) else np.zeros(0, dtype=bool)
    _refuse_thin_history(months, oot_months, y[~in_oot], y[in_oot])

    fitted = fit_scorecard(frame[~in_oot], y[~in_oot], FEATURES, scaling=scaling)
    spec = fitted.spec()
    scorecard = Scorecard.from_spec(spec)
    train_frame, oot_frame = frame[~in_oot].reset_index(drop=True), frame[in_oot].reset_index(drop=True)
    train_scores, oot_scores = scorecard.score(train_frame), scorecard.score(oot_frame)
    result = validation_metrics(
        fitted=fitted,
        train=(y[~in_oot], train_scores, train_frame, observation[~in_oot].reset_index(drop=True)),
        oot=(y[in_oot], oot_scores, oot_frame, observation[in_oot].reset_index(drop=True)),
    )
    result["sampling"] = sampling_summary(month_rows, oot_from)
    train_months, oot_months_seen = months[: len(months) - oot_months], months[len(months) - oot_months :]
    with transaction.atomic(durable=True):
        # Two trainings at once: the unique version refuses the second, which can rerun.
        latest = ModelVersion.objects.aggregate(latest=Max("version"))["latest"]
        version = ModelVersion.objects.create(
            version=(latest or 0) + 1,
            base_score=Decimal(str(scaling.base_score)),
            base_odds=Decimal(str(scaling.base_odds)),
            pdo=Decimal(str(scaling.pdo)),
            training_start=train_months[0],
            training_end=train_months[-1],
            oot_start=oot_months_seen[0],
            oot_end=oot_months_seen[-1],
            spec=spec,
            metrics=result,
            training_distribution=distribution_shares(scorecard, train_scores),
            note=note[:200],
            trained_by=user_or_none(actor),
        )
        audit_record(
            actor=actor,
            action="model_version.train",
            entity=version,
            after={
                "version": version.version,
                "status": version.status,
                "training": [train_months[0], train_months[-1]],
                "oot": [oot_months_seen[0], oot_months_seen[-1]],
                "selected": fitted.selected,
                "oot_auc": result["oot"]["auc"],
            },
            reason=note,
        )
    return version
