"""What the dashboards read: aggregates that close of day fills, and the loss setting.

No dashboard page scans loans, installments, payments or attempts per request: close of
day step 2 (lending) leaves the day's portfolio by product, term, origination month and
bucket, and month-end loan rows; this app's step (`dashboards.aggregates`, the last of the
night) turns those and the collections facts into the tables below. Each is keyed by the
business date it describes and rebuilt whole for that date when the step reruns.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from riskdesk.lending.models import Product, money_field


class RollRateMonth(models.Model):
    """Loans and balance moving from a bucket at one month end to a bucket at the next.

    `month_end` is the later month end; a loan counts in the month-end loan snapshot of
    the month before (its bucket and outstanding principal then: `from_bucket`, `balance`)
    and lands in `to_bucket`: its bucket at `month_end`, or `paid_off` / `written_off`
    when it left the book. Loans disbursed during the month are in neither.
    """

    PAID_OFF = "paid_off"
    WRITTEN_OFF = "written_off"

    month_end = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    term = models.PositiveSmallIntegerField()
    origination_month = models.DateField()
    from_bucket = models.CharField(max_length=8)
    to_bucket = models.CharField(max_length=12)
    loans = models.PositiveIntegerField()
    balance = money_field(help_text="outstanding principal at the earlier month end")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month_end", "product", "term", "origination_month", "from_bucket", "to_bucket"],
                name="rollratemonth_unique",
            )
        ]


class VintagePoint(models.Model):
    """A vintage's cumulative delinquency after `months_on_book` months (rebuilt whole each night).

    A vintage is the loans of one product and term disbursed in one month. Its size
    (`loans`, `principal` disbursed) repeats on every row. A loan is ever 30+ from the
    first business day it was more than 30 days past due (ever 90+: more than 90), counted
    at the months on book of that day: 0 is the origination month itself. Rows exist
    only for months on book already reached by the last closed day.
    """

    origination_month = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    term = models.PositiveSmallIntegerField()
    months_on_book = models.PositiveSmallIntegerField()
    loans = models.PositiveIntegerField()
    principal = money_field(help_text="principal disbursed in the vintage")
    ever30_loans = models.PositiveIntegerField()
    ever30_principal = money_field()
    ever90_loans = models.PositiveIntegerField()
    ever90_principal = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["origination_month", "product", "term", "months_on_book"], name="vintagepoint_unique"
            )
        ]


class LossGivenDefault(models.Model):
    """The LGD setting (admin), versioned by `effective_from`; a product's own beats the default."""

    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="empty: every product"
    )
    effective_from = models.DateField()
    lgd = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="share of the exposure lost at default, 0 to 1",
    )
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "effective_from"]
        verbose_name = "loss given default"
        verbose_name_plural = "loss given default"
        constraints = [
            models.UniqueConstraint(fields=["product", "effective_from"], name="lgd_product_version"),
            models.UniqueConstraint(
                fields=["effective_from"], condition=Q(product__isnull=True), name="lgd_default_version"
            ),
            models.CheckConstraint(condition=Q(lgd__gte=0) & Q(lgd__lte=1), name="lgd_range"),
        ]

    def __str__(self) -> str:
        return f"LGD {self.lgd} {self.product.code if self.product else 'all products'} from {self.effective_from}"


class ExpectedLossDay(models.Model):
    """The day's expected credit loss by product, term, origination month, stage and PD source.

    Stage 3: more than 90 days past due (PD 1). Stage 2: more than 30 days past due, or
    the champion band worse than the first band the current champion gave the loan (a
    promotion is not a downgrade: see `expected_loss_build`). Stage 1: the rest. EAD is the
    outstanding principal; PD the loan's scored PD where it has one (`score`), else the
    observed roll rate of its bucket (`roll_rate`), stage 3 `default`. ECL = LGD × PD × EAD
    with the LGD in force on the business date (stored in `lgd`).
    """

    class PdSource(models.TextChoices):
        SCORE = "score"
        ROLL_RATE = "roll_rate", "observed roll rate"
        DEFAULT = "default", "in default"

    business_date = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    term = models.PositiveSmallIntegerField()
    origination_month = models.DateField()
    stage = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(3)])
    pd_source = models.CharField(max_length=10, choices=PdSource.choices)
    loans = models.PositiveIntegerField()
    ead = money_field(help_text="outstanding principal")
    pd_ead = models.DecimalField(max_digits=20, decimal_places=6, help_text="sum of PD x EAD")
    lgd = models.DecimalField(max_digits=5, decimal_places=4)
    ecl = money_field(help_text="LGD x sum of PD x EAD, rounded half-up")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business_date", "product", "term", "origination_month", "stage", "pd_source"],
                name="expectedlossday_unique",
            ),
            models.CheckConstraint(condition=Q(stage__gte=1) & Q(stage__lte=3), name="expectedlossday_stage"),
        ]


class CollectionsDay(models.Model):
    """A business day of collections work, per collector (empty: unassigned or the system) and stage.

    Counts are of the day (lender time); `cases_open` is at the day's close. Attempts are
    those the gate allowed; right-party contacts are the allowed attempts whose outcome
    reached the borrower (right party, promise to pay, refusal, dispute, cease or hardship
    request). `recovered` is money value-dated that day on loans of a case open that day.
    A day's rows are recounted for a week: each night rebuilds the last 7 closed days, so an
    attempt logged back across a close that has already run is still counted.
    """

    business_date = models.DateField()
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    stage = models.CharField(max_length=16)
    cases_open = models.PositiveIntegerField(default=0)
    cases_opened = models.PositiveIntegerField(default=0)
    cases_closed = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    right_party_contacts = models.PositiveIntegerField(default=0)
    promises_made = models.PositiveIntegerField(default=0)
    promises_kept = models.PositiveIntegerField(default=0)
    promises_broken = models.PositiveIntegerField(default=0)
    recovered = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business_date", "collector", "stage"],
                name="collectionsday_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["business_date"])]


class ComplianceDay(models.Model):
    """A business day's compliance facts, counted by measure, rule and channel.

    Measures: `blocked` (attempts the gate refused, by rule), `complaint` (received),
    `cease_request` (cease-communication restrictions recorded), `reminder_sent`,
    `reminder_blocked`, and `quiet_hours_contact` (allowed contacts at a time inside the
    contacted person's quiet hours under the policy then in force: must read zero).
    A day's rows are recounted for a week: each night rebuilds the last 7 closed days, so a
    complaint keyed after its day closed (`received_at` in the past) is still counted.
    """

    class Measure(models.TextChoices):
        BLOCKED = "blocked", "attempts blocked"
        COMPLAINT = "complaint", "complaints"
        CEASE_REQUEST = "cease_request", "cease requests"
        REMINDER_SENT = "reminder_sent", "reminders sent"
        REMINDER_BLOCKED = "reminder_blocked", "reminders blocked"
        QUIET_HOURS_CONTACT = "quiet_hours_contact", "contacts in quiet hours"

    business_date = models.DateField()
    measure = models.CharField(max_length=20, choices=Measure.choices)
    rule = models.CharField(max_length=48, blank=True)
    channel = models.CharField(max_length=8, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business_date", "measure", "rule", "channel"], name="complianceday_unique")
        ]
