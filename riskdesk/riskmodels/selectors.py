"""Reads of the scorecard registry and its monitoring, for the model pages and the API.

Everything here reads what close of day step 3 already aggregated (ModelMonitor,
ModelPerformance, ScoreDistribution) or the frozen spec and metrics of a version;
nothing scans the book or its scores per request. A loan's risk is read in loan_risk.py.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from django.db.models import Max, OuterRef, QuerySet

from riskdesk.core.vocabulary import label
from riskdesk.riskmodels import metrics
from riskdesk.riskmodels.features import HORIZON_DAYS
from riskdesk.riskmodels.models import (
    RISK_BANDS,
    ModelMonitor,
    ModelPerformance,
    ModelStatusChange,
    ModelVersion,
    ScoreDistribution,
)

SAMPLES = ("train", "oot")
SEGMENTS = ("to_30", "over_30")
LIVE_STATUSES = (ModelVersion.Status.CHAMPION, ModelVersion.Status.CHALLENGER)
EMPTY_ROWS = ("Special", "Missing")


def psi_alert(psi: float | None) -> str:
    """The alert of a PSI (metrics.psi_alert); "" when there was nothing to compare."""
    return "" if psi is None or math.isnan(psi) else metrics.psi_alert(psi)


# -- the registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionSummary:
    """A version with its latest night of monitoring: one row of the registry."""

    version: ModelVersion
    monitor: ModelMonitor | None

    @property
    def oot(self) -> dict[str, Any]:
        return self.version.metrics.get("oot") or {}

    @property
    def train(self) -> dict[str, Any]:
        return self.version.metrics.get("train") or {}


def version_summaries(versions: QuerySet[ModelVersion] | None = None) -> list[VersionSummary]:
    """Every version (newest first) with its latest ModelMonitor, in two queries."""
    versions = (versions if versions is not None else ModelVersion.objects.all()).order_by("-version")
    latest = ModelMonitor.objects.filter(model_version=OuterRef("model_version")).order_by("-business_date")
    monitors = {
        m.model_version_id: m
        for m in ModelMonitor.objects.filter(model_version__in=versions, pk=latest.values("pk")[:1])
    }
    return [VersionSummary(v, monitors.get(v.pk)) for v in versions]


def champion() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).first()


@dataclass(frozen=True)
class Comparison:
    """The champion and each challenger side by side."""

    champion: VersionSummary | None
    challengers: list[VersionSummary]

    @property
    def bands(self) -> str:
        return RISK_BANDS

    @property
    def columns(self) -> list[VersionSummary]:
        return ([self.champion] if self.champion else []) + self.challengers


def champion_vs_challengers() -> Comparison:
    """The live versions for the registry's side-by-side table.

    A challenger's agreement with the champion is on its latest monitor (the scoring
    step counts it over every loan both scored that night), so the page reads no scores.
    """
    live = version_summaries(ModelVersion.objects.filter(status__in=LIVE_STATUSES))
    top = next((s for s in live if s.version.status == ModelVersion.Status.CHAMPION), None)
    others = [s for s in live if s.version.status == ModelVersion.Status.CHALLENGER]
    return Comparison(top, others)


# -- the model page ----------------------------------------------------------------------


@dataclass(frozen=True)
class SampleRow:
    """One line of the validation table: a sample (train or out of time) and a segment."""

    sample: str
    segment: str  # "" for every loan
    loans: int | None
    bads: int | None
    bad_rate: float | None
    auc: float | None
    ks: float | None
    gini: float | None


def validation_rows(metrics: dict[str, Any]) -> list[SampleRow]:
    """Train and out-of-time figures, for every loan and per segment, from the version's metrics."""
    rows = []
    for sample in SAMPLES:
        parts = [("", metrics.get(sample) or {})]
        parts += [(seg, ((metrics.get("segments") or {}).get(seg) or {}).get(sample) or {}) for seg in SEGMENTS]
        for segment, figures in parts:
            rows.append(
                SampleRow(
                    sample=sample,
                    segment=segment,
                    loans=figures.get("loans"),
                    bads=figures.get("bads"),
                    bad_rate=figures.get("bad_rate"),
                    auc=figures.get("auc"),
                    ks=figures.get("ks"),
                    gini=figures.get("gini"),
                )
            )
    return rows


@dataclass(frozen=True)
class FeatureIv:
    code: str
    label: Any
    iv: float
    selected: bool


def iv_rows(metrics: dict[str, Any]) -> list[FeatureIv]:
    """Information value per candidate feature, strongest first; the ones the model kept marked."""
    selected = set(metrics.get("selected") or [])
    ivs = (metrics.get("iv") or {}).items()
    rows = [FeatureIv(code, label(code), float(iv), code in selected) for code, iv in ivs]
    return sorted(rows, key=lambda r: (-r.iv, r.code))


@dataclass(frozen=True)
class FeaturePoints:
    """One feature of the scorecard: its bins with counts, event rates, WOE and points."""

    code: str
    label: Any
    coefficient: float
    bins: list[dict[str, Any]]
    best_points: float


def points_table(spec: dict[str, Any]) -> list[FeaturePoints]:
    """The frozen scorecard as the analyst reads it, one block per feature in the spec's order."""
    return [
        FeaturePoints(
            code=f["code"],
            label=label(f["code"]),
            coefficient=float(f.get("coefficient", 0.0)),
            # optbinning's Special and Missing rows are shown only when training rows fell there.
            bins=[b for b in f.get("bins") or [] if b.get("count") or b.get("label") not in EMPTY_ROWS],
            best_points=float(f.get("best_points", 0.0)),
        )
        for f in spec.get("features") or []
    ]


def score_bin_labels(spec: dict[str, Any]) -> list[str]:
    """The score bins' ranges in points: "< 540", "540–560", ..., "≥ 700" (spec.score_bins: inner edges)."""
    edges = [float(e) for e in spec.get("score_bins") or []]
    if not edges:
        return ["all"]
    shown = [f"{e:.0f}" for e in edges]
    if len(set(shown)) < len(shown):  # deciles a point apart: one decimal tells them apart
        shown = [f"{e:.1f}" for e in edges]
    return [f"< {shown[0]}"] + [f"{a}–{b}" for a, b in zip(shown, shown[1:], strict=False)] + [f"≥ {shown[-1]}"]


def latest_distribution_day(version: ModelVersion) -> date | None:
    return (
        ScoreDistribution.objects.filter(model_version=version, feature="")
        .aggregate(day=Max("business_date"))
        .get("day")
    )


def distribution_counts(version: ModelVersion, day: date) -> dict[str, dict[int, int]]:
    """Loans per bin on `day`: {"" (the score) or feature code: {bin: loans}}."""
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for feature, bin_, loans in ScoreDistribution.objects.filter(model_version=version, business_date=day).values_list(
        "feature", "bin", "loans"
    ):
        counts[feature][bin_] = loans
    return counts


def shares(counts: dict[int, int], bins: int) -> list[float]:
    total = sum(counts.values())
    return [counts.get(k, 0) / total if total else 0.0 for k in range(bins)]


def score_distribution_frame(version: ModelVersion, counts: dict[int, int]) -> pd.DataFrame:
    """Share of loans per score bin: in training and on the latest scored night."""
    labels = score_bin_labels(version.spec)
    training = list((version.training_distribution or {}).get("score") or [])
    training += [0.0] * (len(labels) - len(training))
    return pd.DataFrame(
        {
            "bin": range(len(labels)),
            "label": labels,
            "training": [float(s) for s in training[: len(labels)]],
            "latest": shares(counts, len(labels)),
        }
    )


def psi_frame(version: ModelVersion) -> pd.DataFrame:
    """PSI of the score by night, oldest first."""
    rows = ModelMonitor.objects.filter(model_version=version).order_by("business_date")
    frame = pd.DataFrame(list(rows.values("business_date", "psi", "alert", "loans")))
    return frame if not frame.empty else pd.DataFrame(columns=["business_date", "psi", "alert", "loans"])


@dataclass(frozen=True)
class FeatureStability:
    """One feature's PSI on the latest night, and its bin that moved most against training."""

    code: str
    label: Any
    psi: float
    alert: str
    moved_bin: str
    training_share: float
    latest_share: float


def feature_stability(
    version: ModelVersion, monitor: ModelMonitor | None, counts: dict[str, dict[int, int]]
) -> list[FeatureStability]:
    """Per-feature PSI (the monitor's) with the bin whose share moved most, worst feature first."""
    if monitor is None:
        return []
    bins_of = {f["code"]: f.get("bins") or [] for f in version.spec.get("features") or []}
    trained = (version.training_distribution or {}).get("features") or {}
    rows = []
    for code, psi in (monitor.feature_psi or {}).items():
        bins = bins_of.get(code, [])
        expected = [float(s) for s in trained.get(code) or []]
        actual = shares(counts.get(code, {}), len(expected))
        moved = max(range(len(expected)), key=lambda k: abs(actual[k] - expected[k]), default=None)
        rows.append(
            FeatureStability(
                code=code,
                label=label(code),
                psi=float(psi),
                alert=psi_alert(float(psi)),
                moved_bin=str(bins[moved].get("label", moved)) if moved is not None and moved < len(bins) else "",
                training_share=expected[moved] if moved is not None else 0.0,
                latest_share=actual[moved] if moved is not None else 0.0,
            )
        )
    return sorted(rows, key=lambda r: (-r.psi, r.code))


def discrimination_frame(version: ModelVersion) -> pd.DataFrame:
    """AUC, KS and Gini by observation month: training's months (train, oot) and the live matured ones."""
    rows = [
        {
            "month": date.fromisoformat(str(m["month"])),
            "source": m.get("sample", "train"),
            "loans": m.get("loans"),
            "bads": m.get("bads"),
            "auc": m.get("auc"),
            "ks": m.get("ks"),
            "gini": m.get("gini"),
        }
        for m in version.metrics.get("by_month") or []
    ]
    rows += [
        {
            "month": p.observation_month,
            "source": "live",
            "loans": p.loans,
            "bads": p.bads,
            "auc": p.auc,
            "ks": p.ks,
            "gini": p.gini,
        }
        for p in ModelPerformance.objects.filter(model_version=version).order_by("observation_month")
    ]
    columns = ["month", "source", "loans", "bads", "auc", "ks", "gini"]
    return pd.DataFrame(rows, columns=columns).sort_values(["month", "source"], ignore_index=True)


def calibration_frame(version: ModelVersion) -> pd.DataFrame:
    """Predicted against observed bad rate by band: the out-of-time sample and the live matured months.

    Live months are pooled per band, each month weighted by its loans in the band.
    """
    rows = [{**row, "source": "oot"} for row in version.metrics.get("calibration") or []]
    pooled: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for calibration in ModelPerformance.objects.filter(model_version=version).values_list("calibration", flat=True):
        for row in calibration or []:
            acc = pooled[row["band"]]
            acc[0] += row["loans"]
            acc[1] += row["loans"] * row["predicted"]
            acc[2] += row["loans"] * row["observed"]
    rows += [
        {"band": band, "loans": int(n), "predicted": p / n, "observed": o / n, "source": "live"}
        for band, (n, p, o) in sorted(pooled.items())
        if n
    ]
    columns = ["band", "source", "loans", "predicted", "observed"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"loans": "int64", "predicted": "float64", "observed": "float64"})


@dataclass(frozen=True)
class ModelPage:
    """Everything the model page shows."""

    version: ModelVersion
    monitor: ModelMonitor | None
    champion: ModelVersion | None
    distribution_day: date | None
    validation: list[SampleRow]
    ivs: list[FeatureIv]
    points: list[FeaturePoints]
    stability: list[FeatureStability]
    status_changes: list[ModelStatusChange]
    score_distribution: pd.DataFrame
    psi: pd.DataFrame
    discrimination: pd.DataFrame
    calibration: pd.DataFrame

    @property
    def alert(self) -> str:
        return self.monitor.alert if self.monitor else ""

    @property
    def horizon_days(self) -> dict[str, int]:
        return self.version.metrics.get("horizon_days") or HORIZON_DAYS

    @property
    def iv_max(self) -> float:
        return max((row.iv for row in self.ivs), default=0.0) or 1.0

    @property
    def bands(self) -> list[dict[str, Any]]:
        """Each band's PD range: [{band, low, high}], A from 0 up to E's 1."""
        rows, low = [], 0.0
        for band in self.version.spec.get("bands") or []:
            rows.append({"band": band["band"], "low": low, "high": float(band["max_pd"])})
            low = float(band["max_pd"])
        return rows


def model_page(version: ModelVersion) -> ModelPage:
    monitor = ModelMonitor.objects.filter(model_version=version).order_by("-business_date").first()
    day = latest_distribution_day(version)
    counts = distribution_counts(version, day) if day else {}
    return ModelPage(
        version=version,
        monitor=monitor,
        champion=champion(),
        distribution_day=day,
        validation=validation_rows(version.metrics),
        ivs=iv_rows(version.metrics),
        points=points_table(version.spec),
        stability=feature_stability(version, monitor, counts),
        status_changes=list(version.status_changes.select_related("actor").order_by("-at", "-id")),
        score_distribution=score_distribution_frame(version, counts.get("", {})),
        psi=psi_frame(version),
        discrimination=discrimination_frame(version),
        calibration=calibration_frame(version),
    )
