"""Cross-cutting records: the append-only audit log and the nightly job runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditLog(models.Model):
    """One append-only row per action: who, what, when, before, after, why.

    On Postgres a trigger (migration 0002) refuses UPDATE and DELETE on this table.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    action = models.CharField(max_length=64, db_index=True)
    entity_type = models.CharField(max_length=64)
    entity_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["entity_type", "entity_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.entity_type}#{self.entity_id}"


class JobRun(models.Model):
    """One step of close of day for one business date; unique, so a rerun is a no-op."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    step = models.CharField(max_length=64)
    business_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    rows = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["step", "business_date"], name="jobrun_step_date_unique")]
        ordering = ["-business_date", "id"]

    def __str__(self) -> str:
        return f"{self.step} {self.business_date} {self.status}"

    @property
    def progress(self) -> float:
        return self.chunks_done / self.chunks_total if self.chunks_total else (1.0 if self.status == "done" else 0.0)


class JobChunk(models.Model):
    """An id range of one job run; workers claim pending chunks with SKIP LOCKED."""

    job_run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="chunks")
    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
    done = models.BooleanField(default=False)
    rows = models.JSONField(default=dict, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job_run", "lo"], name="jobchunk_run_lo_unique")]
        ordering = ["lo"]


class ClosedDay(models.Model):
    """A business date whose every close-of-day step is done."""

    business_date = models.DateField(primary_key=True)
    closed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-business_date"]


class RetentionPolicy(models.Model):
    """How long one kind of record is kept: admin-set, versioned, never under the legal minimum.

    The version in force on a date is the latest whose effective_from is on or before it;
    the nightly purge (riskdesk.core.retention) removes what is older than its keep_days.
    """

    class Kind(models.TextChoices):
        CONTACT_ATTEMPTS = "contact_attempts"
        RECORDING_REFERENCES = "recording_references"
        AUDIT_LOG = "audit_log"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    keep_days = models.PositiveIntegerField()
    effective_from = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-effective_from", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "effective_from"], name="retention_kind_from_unique"),
        ]
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"{self.kind}: {self.keep_days} days from {self.effective_from}"


class PendingTask(models.Model):
    """A Celery task the desk asked for, kept here until the broker has taken it.

    The task outbox: asking for a task writes this row first, so a broker that is down
    loses nothing; the relay publishes what is unpublished once the broker answers again.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Celery's id of the published task, whoever published it (the request or the relay).
    task_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Set when the task itself could not be sent (an unknown name, arguments it refuses):
    # no retry would help, so the relay leaves the row and goes on to the next.
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["published_at", "id"], name="pendingtask_unpublished_idx")]

    def __str__(self) -> str:
        state = "published" if self.published_at else "failed" if self.failed_at else "pending"
        return f"{self.task} #{self.pk} {state}"
