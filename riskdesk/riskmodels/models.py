"""Delinquency scorecards: versions in a registry, nightly scores, and what monitoring keeps.

A model version holds everything needed to score without the training library: the
frozen bins, WOE, points and coefficients (`spec`, see `scorecard.py`), the scaling
settings, the training and out-of-time windows and the validation metrics. Close of day
step 3 scores the book with the champion and every challenger; the champion's PD, band,
score and reasons go onto the loan.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from riskdesk.lending.models import CreditLine, CreditLineEvent, Loan, money_field

USER = settings.AUTH_USER_MODEL
# Risk bands from the lowest PD to the highest (the PD cut-offs: settings.RISKDESK_RISK_BANDS).
RISK_BANDS = "ABCDE"


class ModelVersion(models.Model):
    """One trained scorecard: frozen, versioned, with its validation and status."""

    class Status(models.TextChoices):
        CHALLENGER = "challenger"
        CHAMPION = "champion"
        RETIRED = "retired"

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHALLENGER)
    # Scaling (points to double the odds): score = base_score at odds base_odds (good:bad),
    # and every `pdo` points double the odds.
    base_score = models.DecimalField(max_digits=7, decimal_places=2)
    base_odds = models.DecimalField(max_digits=9, decimal_places=4)
    pdo = models.DecimalField(max_digits=7, decimal_places=2)
    # Observation month ends used to fit, and the later ones held out (out of time).
    training_start = models.DateField()
    training_end = models.DateField()
    oot_start = models.DateField(null=True, blank=True)
    oot_end = models.DateField(null=True, blank=True)
    spec = models.JSONField(help_text="frozen bins, WOE, points, coefficients and band thresholds")
    metrics = models.JSONField(default=dict, help_text="IV per feature, AUC/KS/Gini, calibration by band, samples")
    training_distribution = models.JSONField(
        default=dict, help_text="training shares per score bin and per feature bin, the base of PSI"
    )
    note = models.CharField(max_length=200, blank=True)
    trained_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    trained_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="champion"), name="one_champion"),
        ]

    def __str__(self) -> str:
        return f"scorecard v{self.version} ({self.status})"


class ModelStatusChange(models.Model):
    """A promotion or retirement, with the admin's comment (also in the audit log)."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10)
    to_status = models.CharField(max_length=10)
    comment = models.CharField(max_length=500)
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]


class LoanScore(models.Model):
    """A loan's score by one model on a business date.

    Kept every day for loans in collections (past due, or with an open case) and at
    month end for every open loan: storage grows with delinquency, not book x days.
    """

    business_date = models.DateField()
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="scores", db_index=False)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="scores")
    score = models.DecimalField(max_digits=7, decimal_places=2)
    pd = models.DecimalField(max_digits=7, decimal_places=6)
    band = models.CharField(max_length=1)
    reasons = models.JSONField(default=list, help_text="[{feature, value, points_lost}], worst first")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["loan", "model_version", "business_date"], name="loanscore_unique"),
        ]
        indexes = [models.Index(fields=["model_version", "business_date"], name="loanscore_model_day_idx")]


class BandChange(models.Model):
    """A change of a loan's champion band (the basis of band-driven actions and stage 2)."""

    on = models.DateField(db_index=True)
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="band_changes")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    from_band = models.CharField(max_length=1, blank=True)
    to_band = models.CharField(max_length=1)
    # The champion changed since the loan's previous band: a new model's view of the same
    # borrower, not a change in the borrower. Such a change cuts no limit.
    model_switch = models.BooleanField(default=False)

    class Meta:
        ordering = ["on", "id"]
        constraints = [models.UniqueConstraint(fields=["loan", "on"], name="bandchange_one_per_day")]

    @property
    def is_downgrade(self) -> bool:
        return bool(self.from_band) and self.to_band > self.from_band and not self.model_switch


class ScoringNight(models.Model):
    """The models that score business date D, fixed when the night's scoring step starts.

    Every chunk of the night reads its lineup from here, so a promotion during or
    between the chunks of a night cannot leave the book banded by two champions.
    """

    business_date = models.DateField(unique=True)
    champion = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    challengers = models.JSONField(default=list, help_text="ids of the challengers that score this night")

    class Meta:
        ordering = ["-business_date"]


class ScoreDistribution(models.Model):
    """How many loans one model put in each score bin (feature '') or feature bin on a date.

    Scoring chunks add to these counts in the chunk's own transaction, so PSI at the
    step's finish reads a few hundred rows, never the book.
    """

    business_date = models.DateField()
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="distributions")
    feature = models.CharField(max_length=40, blank=True, help_text="empty: the score itself")
    bin = models.SmallIntegerField()
    loans = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "business_date", "feature", "bin"], name="scoredistribution_unique"
            ),
        ]


class ModelMonitor(models.Model):
    """One night's stability of one model: PSI of the score and of each feature."""

    class Alert(models.TextChoices):
        OK = "ok"
        WATCH = "watch", "watch (PSI 0.10 or more)"
        ACT = "act", "act (PSI 0.25 or more)"

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="monitors")
    business_date = models.DateField()
    loans = models.PositiveIntegerField()
    psi = models.FloatField()
    alert = models.CharField(max_length=5, choices=Alert.choices)
    feature_psi = models.JSONField(default=dict)
    band_mix = models.JSONField(default=dict, help_text="loans per band")
    # A challenger's bands against the champion's on every loan both scored that night.
    agreement = models.FloatField(null=True, help_text="share of loans in the champion's band")
    agreement_within_one = models.FloatField(null=True, help_text="share of loans at most one band apart")

    class Meta:
        ordering = ["-business_date"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "business_date"], name="modelmonitor_unique"),
        ]


class ModelPerformance(models.Model):
    """A model's discrimination and calibration on one observation month whose outcomes matured."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="performance")
    observation_month = models.DateField(help_text="the month end the loans were scored on")
    loans = models.PositiveIntegerField()
    bads = models.PositiveIntegerField()
    auc = models.FloatField(null=True)
    ks = models.FloatField(null=True)
    gini = models.FloatField(null=True)
    calibration = models.JSONField(default=list, help_text="[{band, loans, predicted, observed}]")
    computed_on = models.DateField()

    class Meta:
        ordering = ["observation_month"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "observation_month"], name="modelperformance_unique"),
        ]


class LimitPolicy(models.Model):
    """What a champion band downgrade does to the borrower's credit line, versioned by date.

    On a downgrade into one of `reduce_on_bands`, the limit becomes
    max(minimum_limit, limit x (1 - reduce_by)), never below what is drawn, with the
    reason code `risk_band_downgrade`.
    """

    effective_from = models.DateField(unique=True)
    enabled = models.BooleanField(default=True)
    reduce_on_bands = models.CharField(max_length=5, default="DE", help_text="bands whose arrival reduces the limit")
    reduce_by = models.DecimalField(max_digits=4, decimal_places=3, help_text="share of the limit taken away")
    minimum_limit = money_field()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name_plural = "limit policies"


class LimitReduction(models.Model):
    """A limit cut by the limit policy, linking the credit line event to the band change behind it."""

    band_change = models.OneToOneField(BandChange, on_delete=models.CASCADE, related_name="limit_reduction")
    credit_line = models.ForeignKey(CreditLine, on_delete=models.CASCADE, related_name="limit_reductions")
    policy = models.ForeignKey(LimitPolicy, on_delete=models.PROTECT, related_name="+")
    event = models.OneToOneField(
        CreditLineEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="limit_reduction"
    )
    limit_before = money_field()
    limit_after = money_field()
