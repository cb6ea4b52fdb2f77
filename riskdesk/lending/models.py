"""The lending book: borrowers, credit lines, products, loans, installments, payments,
grace policies, incident windows, buckets and what close of day keeps."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from riskdesk.lending import engine, schedule


def money_field(**kwargs: object) -> models.DecimalField:
    kwargs.setdefault("default", Decimal("0.00"))
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def rate_field(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=9, decimal_places=6, **kwargs)


class PenaltyBase(models.TextChoices):
    PRINCIPAL = engine.BASE_PRINCIPAL, "overdue principal"
    PRINCIPAL_INTEREST = engine.BASE_PRINCIPAL_INTEREST, "overdue principal and interest"


class Method(models.TextChoices):
    EQUAL_INSTALLMENT = schedule.EQUAL_INSTALLMENT, "equal installment (等额本息)"
    EQUAL_PRINCIPAL = schedule.EQUAL_PRINCIPAL, "equal principal (等额本金)"
    INTEREST_FIRST = schedule.INTEREST_FIRST, "interest first (先息后本)"
    BULLET = schedule.BULLET, "bullet (到期一次还本付息)"


class Product(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    daily_rate = rate_field(default=Decimal("0.000450"), validators=[MinValueValidator(Decimal("0"))])
    penalty_multiplier = models.DecimalField(max_digits=5, decimal_places=3, default=Decimal("1.500"))
    penalty_base = models.CharField(max_length=24, choices=PenaltyBase.choices, default=PenaltyBase.PRINCIPAL)
    methods = models.JSONField(default=list, help_text="allowed repayment methods")
    terms = models.JSONField(default=list, help_text="allowed terms: months, or days for bullet")
    min_amount = money_field(default=Decimal("500.00"))
    max_amount = money_field(default=Decimal("200000.00"))

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(daily_rate__gte=0) & Q(daily_rate__lte=Decimal("0.01")), name="product_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(min_amount__gt=0) & Q(max_amount__gte=F("min_amount")), name="product_amount_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Borrower(models.Model):
    """A borrower's identity, stored once; every output masks it unless the role may see it."""

    name = models.CharField(max_length=100)
    national_id = models.CharField(max_length=32, unique=True)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True, help_text="home address, for letters and field visits")
    bank_card = models.CharField(max_length=32, blank=True, help_text="the card number autodebit draws on")
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")
    language = models.CharField(max_length=8, choices=[("zh-hans", "简体中文"), ("en", "English")], default="zh-hans")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"borrower #{self.pk}"


class ContactPoint(models.Model):
    """A channel the borrower gave: the only numbers and addresses the desk may contact."""

    class Kind(models.TextChoices):
        PHONE = "phone"
        EMAIL = "email"
        APP = "app"

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified"
        VERIFIED = "verified"

    class Status(models.TextChoices):
        ACTIVE = "active"
        WRONG_NUMBER = "wrong_number"
        DISCONNECTED = "disconnected"

    borrower = models.ForeignKey(Borrower, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=254)
    label = models.CharField(max_length=32, blank=True)
    verification = models.CharField(max_length=12, choices=Verification.choices, default=Verification.UNVERIFIED)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["borrower", "kind", "value"], name="contactpoint_unique")]


class EmergencyContact(models.Model):
    """A person the borrower registered, with consent, only to locate the borrower."""

    borrower = models.ForeignKey(Borrower, on_delete=models.CASCADE, related_name="emergency_contacts")
    name = models.CharField(max_length=100)
    phone = models.CharField(max_length=32)
    relationship = models.CharField(max_length=32)
    consent = models.BooleanField()
    objected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(consent=True), name="emergencycontact_needs_consent")]


class CreditLine(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        FROZEN = "frozen"
        CLOSED = "closed"

    class Reason(models.TextChoices):
        LOAN_OVERDUE = "loan_overdue", "a loan is overdue"
        COOLING_OFF = "cooling_off", "cooling-off after cure"
        MANUAL = "manual", "frozen by the desk"

    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="credit_lines")
    limit = money_field()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    freeze_reason = models.CharField(max_length=16, choices=Reason.choices, blank=True)
    frozen_on = models.DateField(null=True, blank=True)
    unfreeze_on = models.DateField(null=True, blank=True, help_text="the date a cooling-off freeze lifts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(limit__gte=0), name="creditline_limit_nonnegative")]

    def __str__(self) -> str:
        return f"line #{self.pk}"


class CreditLineEvent(models.Model):
    """Every freeze, unfreeze and limit change, with its reason code and date."""

    class Kind(models.TextChoices):
        OPENED = "opened"
        FREEZE = "freeze"
        COOLING_OFF = "cooling_off"
        UNFREEZE = "unfreeze"
        LIMIT_CHANGE = "limit_change"

    credit_line = models.ForeignKey(CreditLine, on_delete=models.CASCADE, related_name="events")
    on = models.DateField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.CharField(max_length=32)
    loan = models.ForeignKey("Loan", null=True, blank=True, on_delete=models.SET_NULL)
    limit_before = money_field(null=True, blank=True, default=None)
    limit_after = money_field(null=True, blank=True, default=None)
    unfreeze_on = models.DateField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["on", "id"]


class Loan(models.Model):
    """A drawdown with its own rate, taken from its product at origination.

    dpd, bucket, in_grace and grace_end are as of the last closed business date;
    the amounts are current (every posted payment included).
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAID_OFF = "paid_off"
        WRITTEN_OFF = "written_off"

    credit_line = models.ForeignKey(CreditLine, on_delete=models.PROTECT, related_name="loans")
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="loans")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="loans")
    principal = money_field()
    term = models.PositiveSmallIntegerField(help_text="months, or days for a bullet loan")
    method = models.CharField(max_length=20, choices=Method.choices)
    disbursed_on = models.DateField()
    daily_rate = rate_field()
    penalty_multiplier = models.DecimalField(max_digits=5, decimal_places=3)
    penalty_base = models.CharField(max_length=24, choices=PenaltyBase.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    paid_off_on = models.DateField(null=True, blank=True)
    outstanding_principal = money_field()
    overdue_amount = money_field()
    penalty_accrued = money_field(help_text="penalty interest accrued and not yet paid")
    dpd = models.PositiveIntegerField(default=0)
    bucket = models.CharField(max_length=8, default="M0")
    in_grace = models.BooleanField(default=False)
    grace_end = models.DateField(null=True, blank=True)
    last_value_date = models.DateField(null=True, blank=True, db_index=True)
    # The due date of the oldest installment whose principal and interest are not yet
    # fully paid: close of day finds the loans that may be delinquent by this index.
    next_due_date = models.DateField(null=True, blank=True, db_index=True)
    # The champion scorecard's view of the loan, written by close of day step 3
    # (riskmodels); lending itself never reads them.
    risk_band = models.CharField(max_length=1, blank=True)
    risk_pd = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)
    risk_score = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    risk_reasons = models.CharField(
        max_length=120, blank=True, db_default="", help_text="feature codes costing the most points, worst first"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(
                condition=Q(outstanding_principal__gte=0) & Q(outstanding_principal__lte=F("principal")),
                name="loan_outstanding_in_range",
            ),
            models.CheckConstraint(
                condition=Q(overdue_amount__gte=0) & Q(penalty_accrued__gte=0), name="loan_amounts_nonnegative"
            ),
        ]
        indexes = [models.Index(fields=["credit_line"], condition=Q(dpd__gt=0), name="loan_delinquent_line")]

    def __str__(self) -> str:
        return f"loan #{self.pk}"

    @property
    def terms(self) -> engine.LoanTerms:
        return engine.LoanTerms(
            principal=self.principal,
            method=self.method,
            disbursed_on=self.disbursed_on,
            daily_rate=self.daily_rate,
            penalty_multiplier=self.penalty_multiplier,
            penalty_base=self.penalty_base,
        )

    @property
    def is_overdue(self) -> bool:
        return self.dpd > 0 and not self.in_grace


class Installment(models.Model):
    # No index of its own: the unique (loan, seq) constraint serves lookups by loan.
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments", db_index=False)
    seq = models.PositiveSmallIntegerField()
    period_start = models.DateField()
    due_date = models.DateField()
    principal_due = money_field()
    interest_due = money_field()
    principal_paid = money_field()
    interest_paid = money_field()
    penalty_accrued = money_field()
    penalty_paid = money_field()
    # Sum of base amounts paid x days after penalty_from (see lending/engine.py).
    late_base_days = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0.00"))
    pi_settled_on = models.DateField(null=True, blank=True, help_text="the day principal and interest were fully paid")
    # Penalty forgiven by a waiver (see lending/engine.py): penalty = max(exact - waived, paid).
    penalty_waived = money_field(db_default=Decimal("0.00"))
    superseded_on = models.DateField(
        null=True,
        blank=True,
        help_text="the day an arrangement closed it and moved what was unpaid to new installments",
    )
    arrangement = models.ForeignKey(
        "LoanArrangement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="installments",
        help_text="the arrangement whose new schedule this installment belongs to",
    )
    # Grace terms of the policy in force on the due date, plus incident windows.
    grace_end = models.DateField()
    penalty_from = models.DateField()
    arrears_tolerance = money_field()

    class Meta:
        ordering = ["loan", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "seq"], name="installment_loan_seq_unique"),
            models.CheckConstraint(
                condition=Q(principal_paid__gte=0)
                & Q(principal_paid__lte=F("principal_due"))
                & Q(interest_paid__gte=0)
                & Q(interest_paid__lte=F("interest_due"))
                & Q(penalty_paid__gte=0)
                & Q(penalty_paid__lte=F("penalty_accrued")),
                name="installment_paid_within_due",
            ),
        ]
        indexes = [
            models.Index(fields=["loan", "due_date"], condition=Q(pi_settled_on__isnull=True), name="installment_open"),
        ]


class Payment(models.Model):
    class Kind(models.TextChoices):
        REGULAR = engine.REGULAR
        PREPAYMENT = engine.PREPAYMENT
        PAYOFF = engine.PAYOFF

    class Channel(models.TextChoices):
        AUTODEBIT = "autodebit"
        APP = "app"
        BANK_TRANSFER = "bank_transfer"
        COUNTER = "counter"

    class Status(models.TextChoices):
        POSTED = "posted"
        REVERSED = "reversed"

    # No index of its own: the (loan, value_date) index serves lookups by loan.
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="payments", db_index=False)
    amount = money_field()
    value_date = models.DateField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    reference = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=128, unique=True)
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.POSTED)
    unapplied = money_field(help_text="money a replay could not apply (to refund)")
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["value_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(unapplied__gte=0), name="payment_amount_positive")
        ]
        indexes = [models.Index(fields=["loan", "value_date"])]


class Allocation(models.Model):
    """Where a payment's money went; recomputed when the loan is replayed."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="allocations")
    seq = models.PositiveSmallIntegerField()
    penalty = money_field()
    interest = money_field()
    principal = money_field()

    class Meta:
        ordering = ["payment", "seq"]
        constraints = [
            models.CheckConstraint(
                condition=Q(penalty__gte=0) & Q(interest__gte=0) & Q(principal__gte=0), name="allocation_nonnegative"
            ),
        ]


class LoanArrangement(models.Model):
    """A hardship arrangement carried out on a loan from `effective_on`: an event the engine replays.

    Collections decides and approves it (riskdesk.collections.Arrangement); lending owns what
    it does to the schedule, so a replay from any earlier date reproduces it.
    """

    class Kind(models.TextChoices):
        EXTENSION = "extension"
        REINSTALLMENT = "reinstallment", "re-installment"
        PENALTY_WAIVER = "penalty_waiver"

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="arrangements")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    effective_on = models.DateField()
    months = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan", "effective_on", "id"]


class AutodebitFailure(models.Model):
    class Cause(models.TextChoices):
        INSUFFICIENT_FUNDS = "insufficient_funds"
        BANK_ERROR = "bank_error"
        LENDER_OUTAGE = "lender_outage"
        CARD_EXPIRED = "card_expired"
        MANDATE_REVOKED = "mandate_revoked"

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="autodebit_failures")
    attempted_on = models.DateField()
    amount = money_field()
    cause = models.CharField(max_length=24, choices=Cause.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-attempted_on", "-id"]
        indexes = [models.Index(fields=["loan", "attempted_on"])]


class GracePolicy(models.Model):
    """A version of the grace rules; the version in force on a due date governs it."""

    class PenaltyStart(models.TextChoices):
        DUE_DATE = "due_date", "from the due date"
        GRACE_END = "grace_end", "from the grace end"

    # The rules a version carries (besides its product and effective date).
    RULES = (
        "grace_days",
        "penalty_start",
        "arrears_tolerance",
        "bureau_report_after_days",
        "cooling_off_days",
        "case_open_after_days",
    )

    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, help_text="empty: every product"
    )
    effective_from = models.DateField()
    grace_days = models.PositiveSmallIntegerField(default=3, validators=[MaxValueValidator(30)])
    penalty_start = models.CharField(max_length=12, choices=PenaltyStart.choices, default=PenaltyStart.DUE_DATE)
    arrears_tolerance = money_field(default=Decimal("1.00"))
    bureau_report_after_days = models.PositiveSmallIntegerField(default=30)
    cooling_off_days = models.PositiveSmallIntegerField(default=30)
    case_open_after_days = models.PositiveSmallIntegerField(default=0, help_text="days after grace end a case opens")
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "effective_from"]
        verbose_name_plural = "grace policies"
        constraints = [
            models.UniqueConstraint(fields=["product", "effective_from"], name="gracepolicy_product_version"),
            models.UniqueConstraint(
                fields=["effective_from"], condition=Q(product__isnull=True), name="gracepolicy_default_version"
            ),
            models.CheckConstraint(condition=Q(grace_days__lte=30), name="gracepolicy_grace_days_range"),
            models.CheckConstraint(condition=Q(arrears_tolerance__gte=0), name="gracepolicy_tolerance_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"grace policy {self.product.code if self.product else 'all products'} from {self.effective_from}"


class IncidentWindow(models.Model):
    """An outage or autodebit failure window: installments due inside get extra grace."""

    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, help_text="empty: every product"
    )
    start = models.DateField()
    end = models.DateField()
    extra_grace_days = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(30)])
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="incidentwindow_ordered"),
            models.CheckConstraint(
                condition=Q(extra_grace_days__gte=1) & Q(extra_grace_days__lte=30), name="incidentwindow_days_range"
            ),
        ]

    def __str__(self) -> str:
        return f"incident {self.start}–{self.end} (+{self.extra_grace_days}d)"


class Bucket(models.Model):
    """An admin-configured range of days past due; together they cover 0 to infinity."""

    code = models.CharField(max_length=8, unique=True)
    label = models.CharField(max_length=64)
    min_dpd = models.PositiveIntegerField(unique=True)
    max_dpd = models.PositiveIntegerField(null=True, blank=True, help_text="empty: no upper bound")

    class Meta:
        ordering = ["min_dpd"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_dpd__isnull=True) | Q(max_dpd__gte=F("min_dpd")), name="bucket_ordered"
            )
        ]

    def __str__(self) -> str:
        return self.code


class BucketHistory(models.Model):
    """A change of a loan's bucket on a business date: the basis of roll rates."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="bucket_history")
    on = models.DateField()
    from_bucket = models.CharField(max_length=8)
    to_bucket = models.CharField(max_length=8)
    dpd = models.PositiveIntegerField()

    class Meta:
        ordering = ["loan", "on"]
        verbose_name_plural = "bucket history"
        constraints = [models.UniqueConstraint(fields=["loan", "on"], name="buckethistory_loan_day_unique")]
        indexes = [models.Index(fields=["on"])]


class PortfolioSnapshot(models.Model):
    """The day's book by product, term, origination month and bucket (close of day step 2)."""

    business_date = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    term = models.PositiveSmallIntegerField()
    origination_month = models.DateField()
    bucket = models.CharField(max_length=8)
    loans = models.PositiveIntegerField()
    outstanding_principal = money_field()
    overdue_amount = money_field()
    penalty_accrued = money_field()
    # Loans of the row more than 0, 30 and 90 days past due, and their outstanding principal:
    # the portfolio's DPD1+/30+/90+ whatever the admin's bucket boundaries are.
    dpd1_loans = models.PositiveIntegerField(default=0)
    dpd1_principal = money_field()
    dpd30_loans = models.PositiveIntegerField(default=0)
    dpd30_principal = money_field()
    dpd90_loans = models.PositiveIntegerField(default=0)
    dpd90_principal = money_field()

    class Meta:
        ordering = ["business_date", "product", "term", "origination_month", "bucket"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_date", "product", "term", "origination_month", "bucket"],
                name="portfoliosnapshot_unique",
            )
        ]


class LoanMonthSnapshot(models.Model):
    """Each open loan at a month end (close of day step 2 on the last day of a month)."""

    month_end = models.DateField()
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="month_snapshots")
    dpd = models.PositiveIntegerField()
    bucket = models.CharField(max_length=8)
    outstanding_principal = money_field()
    overdue_amount = money_field()
    status = models.CharField(max_length=12)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month_end", "loan"], name="loanmonthsnapshot_unique")]
