"""Recorded, resumable job runs: the machinery of close of day.

A step runs once per business date (JobRun is unique per step and date, so a rerun of
a done step is a no-op). Its work is split into id-range chunks; any number of
processes may run the same step at once, each claiming pending chunks with
SELECT ... FOR UPDATE SKIP LOCKED and doing a chunk's work in the same transaction
that marks it done, so a crash loses at most the chunk in flight, which the next run
picks up. The step's `finish` runs once, claimed by a conditional UPDATE.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from riskdesk.core.models import ClosedDay, JobChunk, JobRun
from riskdesk.core.sql import is_postgres

log = logging.getLogger(__name__)

RowCounts = dict[str, int]
PEER_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Step:
    """One step of close of day: how to split a date's work, do a chunk, and finish."""

    name: str
    chunks: Callable[[date], list[tuple[int, int]]]
    run_chunk: Callable[[date, int, int], RowCounts]
    finish: Callable[[date], RowCounts] | None = None


def id_ranges(lo: int | None, hi: int | None, size: int) -> list[tuple[int, int]]:
    """Split [lo, hi] into ranges of `size` ids (one empty range when there are no ids)."""
    if lo is None or hi is None:
        return [(0, 0)]
    return [(start, min(start + size - 1, hi)) for start in range(lo, hi + 1, size)]


def step_run(step: Step, business_date: date, *, on_progress: Callable[[JobRun], None] | None = None) -> JobRun:
    """Run (or resume, or join) `step` for `business_date` and return its job run."""
    run, _ = JobRun.objects.get_or_create(step=step.name, business_date=business_date)
    if run.status == JobRun.Status.DONE:
        return run
    _start(run, step, business_date)
    try:
        while True:
            if _run_one_chunk(run, step, business_date):
                if on_progress:
                    run.refresh_from_db()
                    on_progress(run)
                continue
            if not JobChunk.objects.filter(job_run=run, done=False).exists():
                break
            # Another worker holds the last chunks: wait for it, or take over a chunk
            # whose worker died (its transaction rolled back and released the lock).
            time.sleep(PEER_POLL_SECONDS)
        _finish(run, step, business_date)
    except Exception as exc:
        log.exception("close-of-day step %s for %s failed", step.name, business_date)
        _record_failure(run.pk, f"{type(exc).__name__}: {exc}")
        raise
    run.refresh_from_db()
    return run


def _record_failure(run_id: int, error: str) -> None:
    """Mark the run failed, on a working connection: the step's own may have died with the error.

    A lost connection (Postgres restarted, the backend terminated) breaks every later query
    on it, so the failure would go unrecorded and mask the step's own exception. Outside a
    transaction the dead connection is closed and the next query opens a fresh one; inside
    the caller's broken transaction nothing can be written, and the run rolls back with it.
    """
    if connection.in_atomic_block:
        if connection.needs_rollback or not connection.is_usable():
            log.error("step failure not recorded for job run %s: the caller's transaction is broken", run_id)
            return
    elif not connection.is_usable():
        connection.close()
    try:
        JobRun.objects.filter(pk=run_id).update(status=JobRun.Status.FAILED, error=error)
    except DatabaseError:
        log.exception("step failure not recorded for job run %s", run_id)


def _start(run: JobRun, step: Step, business_date: date) -> None:
    with transaction.atomic():
        run = JobRun.objects.select_for_update().get(pk=run.pk)
        if not run.chunks.exists():
            ranges = step.chunks(business_date)
            JobChunk.objects.bulk_create(JobChunk(job_run=run, lo=lo, hi=hi) for lo, hi in ranges)
            run.chunks_total = len(ranges)
        if run.status != JobRun.Status.RUNNING or run.started_at is None:
            run.started_at = run.started_at or timezone.now()
        run.status = JobRun.Status.RUNNING
        run.attempts += 1
        run.error = ""
        run.save(update_fields=["chunks_total", "started_at", "status", "attempts", "error"])


def _run_one_chunk(run: JobRun, step: Step, business_date: date) -> bool:
    """Claim and do one pending chunk; False when none is left to claim."""
    with transaction.atomic():
        pending = JobChunk.objects.filter(job_run=run, done=False).order_by("lo")
        if is_postgres():
            pending = pending.select_for_update(skip_locked=True)
        chunk = pending.first()
        if chunk is None:
            return False
        started = time.perf_counter()
        rows = step.run_chunk(business_date, chunk.lo, chunk.hi)
        chunk.done, chunk.rows = True, rows
        chunk.duration_ms = int((time.perf_counter() - started) * 1000)
        chunk.save(update_fields=["done", "rows", "duration_ms"])
        JobRun.objects.filter(pk=run.pk).update(chunks_done=F("chunks_done") + 1)
    return True


def _finish(run: JobRun, step: Step, business_date: date) -> None:
    with transaction.atomic():
        # Claim the finish: only one process moves the run from running to done.
        locked = JobRun.objects.select_for_update().get(pk=run.pk)
        if locked.status == JobRun.Status.DONE:
            return
        # The finish runs first: it may correct its chunks' counts (the book audit's rerun does).
        totals: Counter[str] = Counter(step.finish(business_date) if step.finish else {})
        for rows in JobChunk.objects.filter(job_run=run).values_list("rows", flat=True):
            totals.update(rows)
        now = timezone.now()
        locked.status = JobRun.Status.DONE
        locked.rows = dict(totals)
        locked.finished_at = now
        locked.duration_ms = int((now - (locked.started_at or now)).total_seconds() * 1000)
        locked.save(update_fields=["status", "rows", "finished_at", "duration_ms"])


def last_closed_day() -> date | None:
    """The latest business date whose whole night (every step) is closed."""
    return ClosedDay.objects.order_by("-business_date").values_list("business_date", flat=True).first()


def last_done(step_name: str) -> date | None:
    """The latest business date on which `step_name` is done."""
    return (
        JobRun.objects.filter(step=step_name, status=JobRun.Status.DONE)
        .order_by("-business_date")
        .values_list("business_date", flat=True)
        .first()
    )
