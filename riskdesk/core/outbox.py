"""The task outbox: a Celery task the desk asks for is a PendingTask row before it is a message.

`task_enqueue` writes the row in the caller's transaction and, once that commits, tries
to hand the task to the broker with a short connect timeout and no publish retries: a
request never hangs on a broker that is down. Published, the row is marked so; not, it
stays pending (a warning in the log, no error to the caller) and `relay_pending` - on
the beat every minute and whenever a worker becomes ready - publishes the pending rows
oldest first. A row is claimed with SKIP LOCKED while it is published, so a request's own
publish and a relay never send it twice between them; a crash between the broker's
acceptance and the commit can (delivery is at least once), and every task published
through here is idempotent (close of day resumes its job runs, the dispatcher claims).

Where Celery runs tasks in-process (tests, `make run`), the task runs at once, in the
request, as it did before the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from celery import Task, current_app
from celery.result import AsyncResult
from django.db import transaction
from django.utils import timezone

from riskdesk.core.models import PendingTask

log = logging.getLogger(__name__)

RELAY_BATCH = 200


@dataclass
class Enqueued:
    """What `task_enqueue` did: the outbox row and, once published, the broker's result handle."""

    pending: PendingTask
    result: AsyncResult | None = field(default=None)

    @property
    def queued(self) -> bool:
        """True once the broker has the task (or it ran in-process); False while it waits in the outbox."""
        return self.result is not None


def task_enqueue(task: Task, *args: Any, **kwargs: Any) -> Enqueued:
    """Ask for `task`: write its outbox row now, publish it when the caller's transaction commits."""
    pending = PendingTask.objects.create(task=task.name, args=list(args), kwargs=dict(kwargs))
    enqueued = Enqueued(pending)

    def publish() -> None:
        _, enqueued.result = _publish(pending.pk)
        pending.refresh_from_db()

    if current_app.conf.task_always_eager:
        publish()  # in-process, at once, as `.delay()` runs an eager task
    else:
        transaction.on_commit(publish)
    return enqueued


def relay_pending(*, limit: int = RELAY_BATCH) -> int:
    """Publish the unpublished outbox rows, oldest first; return how many went out."""
    published = 0
    pending_ids = PendingTask.objects.filter(published_at=None).order_by("id").values_list("id", flat=True)
    for pk in list(pending_ids[:limit]):
        outcome, _ = _publish(pk)
        if outcome == FAILED:
            break  # the broker is still away: the next relay tries again, in the same order
        published += outcome == PUBLISHED
    return published


PUBLISHED, SKIPPED, FAILED = "published", "skipped", "failed"


def _publish(pk: int) -> tuple[str, AsyncResult | None]:
    """Hand one pending row's task to the broker (or run it, eager) and mark the row published."""
    if current_app.conf.task_always_eager:
        # Marked first, in its own transaction: the task then runs outside any atomic block,
        # as a worker would run it (its services open their own durable transactions).
        row = PendingTask.objects.filter(pk=pk, published_at=None).first()
        claimed = PendingTask.objects.filter(pk=pk, published_at=None).update(published_at=timezone.now(), attempts=1)
        if row is None or not claimed:
            return SKIPPED, None
        return PUBLISHED, current_app.tasks[row.task].apply_async(row.args, row.kwargs)
    with transaction.atomic():
        row = PendingTask.objects.select_for_update(skip_locked=True).filter(pk=pk, published_at=None).first()
        if row is None:
            return SKIPPED, None  # published already, or another process is publishing it now
        try:
            result = current_app.tasks[row.task].apply_async(row.args, row.kwargs, retry=False)
        except Exception as exc:  # noqa: BLE001 - any broker failure leaves the row for the relay
            PendingTask.objects.filter(pk=row.pk).update(attempts=row.attempts + 1, last_error=_error(exc))
            log.warning("task %s #%s not published, kept in the outbox: %s", row.task, row.pk, _error(exc))
            return FAILED, None
        PendingTask.objects.filter(pk=row.pk).update(published_at=timezone.now(), attempts=row.attempts + 1)
        return PUBLISHED, result


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
