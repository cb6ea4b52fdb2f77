"""The task outbox: a Celery task the desk asks for is a PendingTask row before it is a message.

`task_enqueue` writes the row in the caller's transaction and, once that commits, tries
to hand the task to the broker with a short connect timeout and no publish retries: a
request never hangs on a broker that is down. Published, the row is marked so; not, it
stays pending (a warning in the log, no error to the caller) and `relay_pending` - on
the beat every minute and whenever a worker becomes ready - publishes the pending rows
oldest first. A row is locked while it is published, so a request's own publish and a
relay never send it twice between them; a crash between the broker's acceptance and the
commit can (delivery is at least once), and every task published through here is
idempotent (close of day resumes its job runs, the dispatcher claims). The relay skips a
row a request is publishing; a request waits for the relay's publish of its row (one
broker timeout at most) and reports what it did.

Only a broker that does not answer keeps a row pending and stops the relay (the rows
after it would fail the same way). A row whose task itself cannot be sent - a name no
worker knows, arguments the task refuses - is marked failed (`failed_at`, the error in
`last_error`) and the relay goes on: one bad row never holds back the tasks behind it.

Where Celery runs tasks in-process (tests, `make run`), the task runs at once, in the
request, as it did before the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions
from celery import Task, current_app
from celery.result import AsyncResult
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from riskdesk.core.models import PendingTask

log = logging.getLogger(__name__)

RELAY_BATCH = 200
# The broker does not answer (kombu wraps most of these in OperationalError): keep the row, retry later.
BROKER_DOWN = (OperationalError, OSError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@dataclass
class Enqueued:
    """What `task_enqueue` did: the outbox row and, once published, the broker's result handle."""

    pending: PendingTask
    result: AsyncResult | None = field(default=None)

    @property
    def queued(self) -> bool:
        """True once the broker has the task (or it ran in-process); False while it waits in the outbox."""
        return self.result is not None or self.pending.published_at is not None

    @property
    def task_id(self) -> str:
        """Celery's id of the task once published (by this request or by the relay), else empty."""
        return self.result.id if self.result is not None else self.pending.task_id


def task_enqueue(task: Task, *args: Any, **kwargs: Any) -> Enqueued:
    """Ask for `task`: write its outbox row now, publish it when the caller's transaction commits."""
    pending = PendingTask.objects.create(task=task.name, args=list(args), kwargs=dict(kwargs))
    enqueued = Enqueued(pending)

    def publish() -> None:
        # Waits for a relay publishing this row right now, so `queued` reports what happened to it.
        _, enqueued.result = _publish(pending.pk, wait=True)
        pending.refresh_from_db()

    if current_app.conf.task_always_eager:
        publish()  # in-process, at once, as `.delay()` runs an eager task
    else:
        transaction.on_commit(publish)
    return enqueued


def relay_pending(*, limit: int = RELAY_BATCH) -> int:
    """Publish the unpublished outbox rows, oldest first; return how many went out."""
    published = 0
    pending_ids = (
        PendingTask.objects.filter(published_at=None, failed_at=None).order_by("id").values_list("id", flat=True)
    )
    for pk in list(pending_ids[:limit]):
        outcome, _ = _publish(pk)
        if outcome == KEPT:
            break  # the broker is still away: the next relay tries again, in the same order
        published += outcome == PUBLISHED
    return published


# What `_publish` did with a row: sent it; found it sent or being sent by another process;
# kept it for the relay (the broker is down); marked it failed (its task cannot be sent).
PUBLISHED, SKIPPED, KEPT, FAILED = "published", "skipped", "kept", "failed"


def _publish(pk: int, *, wait: bool = False) -> tuple[str, AsyncResult | None]:
    """Hand one pending row's task to the broker (or run it, eager) and mark the row published.

    A row another process holds is skipped, or with `wait` waited for: then it is either
    published by that process (SKIPPED) or still pending and tried here.
    """
    unsent = PendingTask.objects.filter(pk=pk, published_at=None, failed_at=None)
    if current_app.conf.task_always_eager:
        # Marked first, in its own transaction: the task then runs outside any atomic block,
        # as a worker would run it (its services open their own durable transactions).
        row = unsent.first()
        if row is None:
            return SKIPPED, None
        task = _task(row)
        if task is None:
            return FAILED, None
        if not unsent.update(published_at=timezone.now(), attempts=1):
            return SKIPPED, None
        return PUBLISHED, task.apply_async(row.args, row.kwargs)
    with transaction.atomic():
        row = unsent.select_for_update(skip_locked=not wait).first()
        if row is None:
            return SKIPPED, None  # published already, or another process is publishing it now
        task = _task(row)
        if task is None:
            return FAILED, None
        try:
            result = task.apply_async(row.args, row.kwargs, retry=False)
        except BROKER_DOWN as exc:
            PendingTask.objects.filter(pk=row.pk).update(attempts=row.attempts + 1, last_error=_error(exc))
            log.warning("task %s #%s not published, kept in the outbox: %s", row.task, row.pk, _error(exc))
            return KEPT, None
        except Exception as exc:  # noqa: BLE001 - the task cannot be sent, whatever the broker does
            _fail(row, exc)
            return FAILED, None
        PendingTask.objects.filter(pk=row.pk).update(
            published_at=timezone.now(), task_id=result.id, attempts=row.attempts + 1
        )
        return PUBLISHED, result


def _task(row: PendingTask) -> Task | None:
    """The row's task, or None (the row marked failed) when no task has its name."""
    task = current_app.tasks.get(row.task)
    if task is None:
        # Registered when its module is imported: import every app's tasks before deciding.
        current_app.loader.import_default_modules()
        task = current_app.tasks.get(row.task)
    if task is None:
        _fail(row, LookupError(f"no task named {row.task!r}"))
    return task


def _fail(row: PendingTask, exc: Exception) -> None:
    PendingTask.objects.filter(pk=row.pk).update(
        failed_at=timezone.now(), attempts=row.attempts + 1, last_error=_error(exc)
    )
    log.error("task %s #%s cannot be sent, marked failed in the outbox: %s", row.task, row.pk, _error(exc))


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
