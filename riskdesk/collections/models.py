"""Collections: cases and queues, the contact policy and every contact attempt, promises,
arrangements, field visits, reminders and their channels, and the bureau export.

Lending facts (loans, installments, payments, contact points) belong to
riskdesk.lending; this app reads them and never writes them except through lending
services (an arrangement's new schedule is `lending.services.loan_arrangement_execute`).
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from riskdesk.lending.models import Borrower, ContactPoint, EmergencyContact, Installment, Loan, money_field

USER = settings.AUTH_USER_MODEL


class Stage(models.TextChoices):
    """Where a case stands, from its worst bucket (DESIGN.md "Collections")."""

    EARLY = "early", "early (M1): reminders and soft calls"
    MID = "mid", "mid (M2–M3): collectors"
    LATE = "late", "late (M4+): supervisors, field visits, legal, agencies"
    WRITE_OFF_REVIEW = "write_off_review", "write-off review (over 180 days)"


class Channel(models.TextChoices):
    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    LETTER = "letter"
    VISIT = "visit"


class Purpose(models.TextChoices):
    COLLECT = "collect"  # speak of the debt with the borrower
    LOCATE = "locate"  # ask a third party for the borrower's contact, or pass a message


# -- the contact policy ---------------------------------------------------------------


class ContactPolicy(models.Model):
    """A version of the contact rules (DESIGN.md's table); the latest in force governs.

    Versions are never edited: a change is a new version from a later `effective_from`,
    and every contact attempt records the version it was checked against. A null limit
    means the preset has no such rule.
    """

    class Preset(models.TextChoices):
        CN = "cn", "China (default)"
        US = "us", "US (Regulation F)"
        UK = "uk", "UK (FCA CONC 7)"

    # The rules a version carries (besides its version, preset and start): what a preset
    # fills and an admin may set over it.
    RULES = (
        "quiet_start",
        "quiet_end",
        "max_unanswered_dials_per_number_per_day",
        "max_conversations_per_day",
        "max_calls_per_7_days",
        "conversation_cooldown_days",
        "unreachable_after_failures",
        "third_party_contacts_max",
        "pause_on_attorney",
        "written_dispute_window_days",
        "breathing_space_days",
        "pause_on_vulnerability",
        "field_visits_allowed",
        "field_visit_min_overdue",
        "field_visit_min_dpd",
        "field_visit_min_staff",
        "bureau_notice_days",
        "agency_review_months",
    )

    version = models.PositiveIntegerField(unique=True)
    preset = models.CharField(max_length=2, choices=Preset.choices, default=Preset.CN)
    effective_from = models.DateTimeField()
    # Quiet hours in the contacted person's local time: [quiet_start, quiet_end) wraps midnight.
    quiet_start = models.TimeField(default=time(22, 0))
    quiet_end = models.TimeField(default=time(8, 0))
    max_unanswered_dials_per_number_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    max_conversations_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    max_calls_per_7_days = models.PositiveSmallIntegerField(null=True, blank=True)
    conversation_cooldown_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Third parties: an emergency contact only once the borrower is unreachable.
    unreachable_after_failures = models.PositiveSmallIntegerField(default=3)
    third_party_contacts_max = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="per emergency contact, ever (US: location information once)"
    )
    pause_on_attorney = models.BooleanField(default=False)
    written_dispute_window_days = models.PositiveSmallIntegerField(null=True, blank=True)
    breathing_space_days = models.PositiveSmallIntegerField(null=True, blank=True)
    pause_on_vulnerability = models.BooleanField(default=False)
    field_visits_allowed = models.BooleanField(default=True)
    field_visit_min_overdue = money_field(default=Decimal("5000.00"))
    field_visit_min_dpd = models.PositiveSmallIntegerField(default=91)
    field_visit_min_staff = models.PositiveSmallIntegerField(default=2)
    bureau_notice_days = models.PositiveSmallIntegerField(
        default=7, help_text="days a bureau prior notice must precede a negative report"
    )
    agency_review_months = models.PositiveSmallIntegerField(default=12)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name_plural = "contact policies"
        constraints = [
            models.CheckConstraint(condition=~Q(quiet_start=F("quiet_end")), name="contactpolicy_quiet_nonempty"),
            models.CheckConstraint(condition=Q(field_visit_min_staff__gte=2), name="contactpolicy_two_staff"),
        ]

    def __str__(self) -> str:
        return f"contact policy v{self.version} ({self.preset}) from {self.effective_from:%Y-%m-%d %H:%M}"


class ContactRestriction(models.Model):
    """A limit the borrower set, or a status that pauses contact; always honoured while active."""

    class Kind(models.TextChoices):
        OPT_OUT = "opt_out", "channel opt-out"
        CEASE = "cease", "cease communication"
        BLACKOUT = "blackout", "blackout window"
        ATTORNEY = "attorney", "represented by an attorney"
        BREATHING_SPACE = "breathing_space", "breathing space"
        VULNERABLE = "vulnerable", "vulnerable customer"

    borrower = models.ForeignKey(Borrower, on_delete=models.CASCADE, related_name="contact_restrictions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, blank=True, help_text="opt-out: the channel")
    # A blackout is a daily window in the borrower's local time (may wrap midnight).
    daily_from = models.TimeField(null=True, blank=True)
    daily_to = models.TimeField(null=True, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="empty: until lifted")
    lifted_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["borrower", "kind"])]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="opt_out") | ~Q(channel=""), name="restriction_optout_channel"),
            models.CheckConstraint(
                condition=~Q(kind="blackout") | (Q(daily_from__isnull=False) & Q(daily_to__isnull=False)),
                name="restriction_blackout_window",
            ),
        ]


class QuietHoursConsent(models.Model):
    """The borrower's recorded consent to be contacted inside quiet hours, for a time span."""

    borrower = models.ForeignKey(Borrower, on_delete=models.CASCADE, related_name="quiet_hours_consents")
    contact_point = models.ForeignKey(ContactPoint, null=True, blank=True, on_delete=models.CASCADE)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    evidence = models.CharField(max_length=200, help_text="how the consent was given (call id, message, form)")
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="consent_ordered")]


# -- queues and cases ------------------------------------------------------------------


class Queue(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    stage = models.CharField(max_length=16, choices=Stage.choices)

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Admin-edited: the first active rule (lowest `order`) a case matches picks its queue."""

    order = models.PositiveSmallIntegerField()
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="rules")
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, help_text="empty: any")
    risk_bands = models.CharField(max_length=16, blank=True, help_text="e.g. 'DE'; empty: any")
    min_overdue = money_field(null=True, blank=True, default=None)
    max_overdue = money_field(null=True, blank=True, default=None)
    language = models.CharField(max_length=8, blank=True, help_text="empty: any")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["order"], name="routingrule_order_unique")]


class Agency(models.Model):
    """An outside collection agency; placements need a review within the policy's months."""

    name = models.CharField(max_length=100, unique=True)
    reviewed_on = models.DateField()
    active = models.BooleanField(default=True)
    users = models.ManyToManyField(USER, blank=True, related_name="agencies")

    class Meta:
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class CollectorProfile(models.Model):
    """A collector's workload cap and languages (supervisors edit them)."""

    user = models.OneToOneField(USER, on_delete=models.CASCADE, related_name="collector_profile")
    max_open_cases = models.PositiveIntegerField(default=200)
    languages = models.CharField(max_length=32, default="zh-hans,en")
    supervisor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="team")


class Case(models.Model):
    """One borrower's collection: every overdue loan of theirs, while any is unresolved."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    class WriteOffReview(models.TextChoices):
        NONE = "", "—"
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="cases")
    loans = models.ManyToManyField(Loan, related_name="cases")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.EARLY)
    worst_bucket = models.CharField(max_length=8)
    max_dpd = models.PositiveIntegerField(default=0)
    overdue_amount = money_field(default=Decimal("0.00"))
    expected_loss = money_field(default=Decimal("0.00"), help_text="PD x overdue amount")
    priority = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"), db_index=True)
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    assigned_to = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    assigned_at = models.DateTimeField(null=True, blank=True)
    next_promise_on = models.DateField(null=True, blank=True)
    opened_on = models.DateField()
    updated_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    close_reason = models.CharField(max_length=32, blank=True)
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    legal_escalated_on = models.DateField(null=True, blank=True)
    write_off_review = models.CharField(max_length=8, choices=WriteOffReview.choices, blank=True)

    class Meta:
        ordering = ["-priority", "id"]
        constraints = [
            models.UniqueConstraint(fields=["borrower"], condition=Q(status="open"), name="case_one_open_per_borrower"),
            models.CheckConstraint(condition=Q(overdue_amount__gte=0), name="case_overdue_nonnegative"),
        ]
        indexes = [
            models.Index(fields=["status", "queue", "assigned_to", "-priority"], name="case_queue_idx"),
            models.Index(fields=["assigned_to", "status"], name="case_assignee_idx"),
        ]

    def __str__(self) -> str:
        return f"case #{self.pk}"


class AgencyPlacement(models.Model):
    """A case placed with an agency: the borrower is notified first; recall ends it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="placements")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="placements")
    borrower_notified_at = models.DateTimeField()
    placed_on = models.DateField()
    recalled_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(recalled_on__isnull=True), name="placement_one_active_per_case"
            )
        ]


# -- templates, attempts, promises, disputes --------------------------------------------


class MessageTemplate(models.Model):
    """An outgoing message's text; only an approved template, clean of prohibited content, is sent."""

    class Audience(models.TextChoices):
        BORROWER = "borrower"
        THIRD_PARTY = "third_party"

    class Status(models.TextChoices):
        DRAFT = "draft"
        APPROVED = "approved"
        RETIRED = "retired"

    code = models.SlugField(max_length=48)
    language = models.CharField(max_length=8, default="zh-hans")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    audience = models.CharField(max_length=12, choices=Audience.choices, default=Audience.BORROWER)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(help_text="placeholders: {name} {amount} {due_date} {loan} {grace_end}")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    lint_findings = models.JSONField(default=list, blank=True)
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "language", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["code", "language", "channel"], name="template_code_language_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.code} [{self.channel}/{self.language}]"


class Outcome(models.TextChoices):
    """What an attempt came to (DESIGN.md "Outcomes and follow-up")."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    RIGHT_PARTY = "right_party", "right-party contact"
    THIRD_PARTY = "third_party", "third party reached"
    WRONG_NUMBER = "wrong_number"
    DISCONNECTED = "disconnected"
    PROMISE_TO_PAY = "promise_to_pay"
    REFUSAL = "refusal"
    DISPUTE = "dispute"
    CEASE_REQUEST = "cease_request"
    HARDSHIP_REQUEST = "hardship_request"
    SENT = "sent", "message sent"
    DELIVERED = "delivered", "message delivered"
    FAILED = "failed", "delivery failed"
    VISITED = "visited", "visit made"
    BLOCKED = "blocked", "blocked by the compliance gate"


class ContactAttempt(models.Model):
    """Every contact asked of the gate, allowed or blocked, with the rule results and policy version."""

    class Source(models.TextChoices):
        COLLECTOR = "collector"
        API = "api"
        REMINDER = "reminder"
        FIELD_VISIT = "field_visit"

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="attempts")
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="contact_attempts")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    contact_point = models.ForeignKey(ContactPoint, null=True, blank=True, on_delete=models.PROTECT)
    emergency_contact = models.ForeignKey(EmergencyContact, null=True, blank=True, on_delete=models.PROTECT)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.COLLECT)
    source = models.CharField(max_length=12, choices=Source.choices)
    at = models.DateTimeField(db_index=True)
    allowed = models.BooleanField()
    rule = models.CharField(max_length=48, blank=True, help_text="the rule that blocked it")
    message = models.CharField(max_length=300, blank=True)
    next_allowed_at = models.DateTimeField(null=True, blank=True)
    rule_results = models.JSONField(default=dict)
    policy = models.ForeignKey(ContactPolicy, null=True, blank=True, on_delete=models.PROTECT)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    note = models.TextField(blank=True)
    recording_ref = models.CharField(
        max_length=200, blank=True, help_text="the call recording's reference in the telephony system"
    )
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.PROTECT)
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["borrower", "at"], name="attempt_borrower_at_idx"),
            models.Index(fields=["contact_point", "at"], name="attempt_point_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact_point__isnull=True) | Q(emergency_contact__isnull=True),
                name="attempt_one_party",
            ),
            models.CheckConstraint(condition=Q(allowed=True) | ~Q(rule=""), name="attempt_blocked_names_rule"),
        ]


class Promise(models.Model):
    """A promise to pay: kept when payments from `made_on` to `due_on` + tolerance reach the amount."""

    class Status(models.TextChoices):
        PENDING = "pending"
        KEPT = "kept"
        BROKEN = "broken"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="promises")
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, help_text="empty: any loan")
    attempt = models.ForeignKey(ContactAttempt, null=True, blank=True, on_delete=models.SET_NULL)
    amount = money_field()
    made_on = models.DateField()
    due_on = models.DateField()
    tolerance_days = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(7)])
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    paid_amount = money_field(default=Decimal("0.00"))
    decided_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["status", "due_on"], name="promise_status_due_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(condition=Q(due_on__gte=F("made_on")), name="promise_due_after_made"),
        ]


class Dispute(models.Model):
    """The borrower disputes the debt: collection contact pauses until it is resolved."""

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes")
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="disputes")
    written = models.BooleanField(default=False)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")


class Complaint(models.Model):
    """A borrower's complaint about how they were collected: counted on the compliance page."""

    class Category(models.TextChoices):
        HARASSMENT = "harassment", "harassment or too many contacts"
        THIRD_PARTY = "third_party", "third party contacted or told"
        THREATS = "threats", "threats or abusive language"
        WRONG_AMOUNT = "wrong_amount", "amount or fees disputed"
        QUIET_HOURS = "quiet_hours", "contacted at night"
        OTHER = "other"

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"

    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="complaints")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints")
    channel = models.CharField(max_length=8, choices=Channel.choices, help_text="how the complaint arrived")
    category = models.CharField(max_length=16, choices=Category.choices)
    received_at = models.DateTimeField(db_index=True)
    description = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True) | Q(status="resolved", resolved_at__isnull=False),
                name="complaint_resolved_has_date",
            )
        ]


# -- arrangements and field visits -----------------------------------------------------


class Arrangement(models.Model):
    """A hardship arrangement: requested by a collector, approved by a supervisor, then
    carried out on the loan by lending services (`lending_arrangement`)."""

    class Kind(models.TextChoices):
        EXTENSION = "extension"
        REINSTALLMENT = "reinstallment", "re-installment"
        PENALTY_WAIVER = "penalty_waiver"

    class Status(models.TextChoices):
        REQUESTED = "requested"
        REJECTED = "rejected"
        ACTIVE = "active", "in force"
        COMPLETED = "completed"
        BROKEN = "broken"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="arrangements")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="collection_arrangements")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    months = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(36)]
    )
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True)
    lending_arrangement = models.OneToOneField(
        "lending.LoanArrangement", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    broken_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["loan"], condition=Q(status__in=["requested", "active"]), name="arrangement_one_live_per_loan"
            )
        ]


class FieldVisit(models.Model):
    """A visit: over the policy threshold, approved by a supervisor, two staff or more, never in quiet hours."""

    class Status(models.TextChoices):
        REQUESTED = "requested"
        APPROVED = "approved"
        REJECTED = "rejected"
        DONE = "done"
        CANCELLED = "cancelled"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="field_visits")
    planned_at = models.DateTimeField()
    address = models.CharField(max_length=200, help_text="the borrower's registered address")
    reason = models.TextField()
    staff = models.ManyToManyField(USER, related_name="field_visits")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    attempt = models.OneToOneField(ContactAttempt, null=True, blank=True, on_delete=models.PROTECT)
    outcome = models.TextField(blank=True)


# -- reminders, channels, bureau --------------------------------------------------------


class ReminderStep(models.Model):
    """One rung of the reminder ladder: when (days from the due date or grace end) and how."""

    class Anchor(models.TextChoices):
        DUE_DATE = "due_date"
        GRACE_END = "grace_end"

    class Kind(models.TextChoices):
        REMINDER = "reminder"
        BUREAU_NOTICE = "bureau_notice", "credit bureau prior notice"

    code = models.SlugField(max_length=32, unique=True)
    anchor = models.CharField(max_length=10, choices=Anchor.choices, default=Anchor.DUE_DATE)
    offset_days = models.SmallIntegerField(validators=[MinValueValidator(-30), MaxValueValidator(180)])
    channels = models.JSONField(help_text="channels in fallback order, e.g. ['sms', 'push']")
    template_code = models.SlugField(max_length=48)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REMINDER)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["anchor", "offset_days", "code"]

    def __str__(self) -> str:
        return self.code


class Reminder(models.Model):
    """A planned reminder, unique per installment and step; the dispatcher claims and sends it once."""

    class Status(models.TextChoices):
        PLANNED = "planned"
        SENDING = "sending"
        SENT = "sent"
        BLOCKED = "blocked"  # the gate refused every channel; `next_try_at` says when to try again
        SKIPPED = "skipped"  # no longer due (paid, closed) when its time came
        FAILED = "failed"

    installment = models.ForeignKey(Installment, on_delete=models.CASCADE, related_name="+")
    step = models.ForeignKey(ReminderStep, on_delete=models.PROTECT, related_name="reminders")
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="+")
    borrower = models.ForeignKey(Borrower, on_delete=models.CASCADE, related_name="reminders")
    planned_for = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PLANNED)
    next_try_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    channel = models.CharField(max_length=8, choices=Channel.choices, blank=True)
    attempt = models.ForeignKey(ContactAttempt, null=True, blank=True, on_delete=models.SET_NULL)
    sent_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["installment", "step"], name="reminder_once_per_installment_step")
        ]
        indexes = [models.Index(fields=["status", "planned_for"], name="reminder_due_idx")]


class OutboxMessage(models.Model):
    """What the default SMS and push gateways 'send': a row a real gateway would deliver."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        DELIVERED = "delivered"
        FAILED = "failed"

    channel = models.CharField(max_length=8, choices=Channel.choices)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    reminder = models.ForeignKey(Reminder, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class BureauExport(models.Model):
    """A month's credit-bureau file; regenerating the month yields the same bytes."""

    month_end = models.DateField(unique=True)
    content = models.TextField()
    sha256 = models.CharField(max_length=64)
    accounts = models.PositiveIntegerField()
    generated_at = models.DateTimeField(auto_now=True)
    generated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
