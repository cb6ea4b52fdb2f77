"""Project-level API views: the ones that compose the apps (the nightly chain)."""

from __future__ import annotations

import logging
from datetime import date

from celery.result import EagerResult
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from riskdesk import nightly, tasks
from riskdesk.core.api import ErrorSerializer, validated
from riskdesk.core.errors import Conflict
from riskdesk.core.models import JobRun
from riskdesk.core.outbox import task_enqueue
from riskdesk.core.permissions import HasRole
from riskdesk.core.roles import ADMIN

log = logging.getLogger(__name__)


def close_day_failure(as_of: date, error: Exception) -> Conflict:
    """Say where close of day, run in-process, stopped: the first step of the first open day not done.

    Days close in order and a day's steps run in order, so after a failure the step that
    failed is the first one of the first open day whose job run is not done (its error is
    in the job run). The web page and the API both answer with this, never a 500.
    """
    days = nightly.days_to_close(as_of)
    day = days[0] if days else as_of
    statuses = dict(JobRun.objects.filter(business_date=day).values_list("step", "status"))
    step = next((s.name for s in nightly.STEPS if statuses.get(s.name) != JobRun.Status.DONE), "")
    log.warning("close of day stopped at %s on %s: %s", step or "-", day, type(error).__name__)
    reason = (str(error).strip().splitlines() or [""])[0][:200]
    message = _("Close of day stopped at step %(step)s of %(day)s (%(error)s): %(reason)s") % {
        "step": step or "-",
        "day": day.isoformat(),
        "error": type(error).__name__,
        "reason": reason,
    }
    return Conflict("close_day_failed", message, step=step, business_date=day.isoformat())


class CloseDayApi(APIView):
    """Close every open business day up to `as_of` (default: yesterday) (admin).

    Asks for the nightly task through the task outbox (core/outbox.py): in-process where
    Celery is eager (the embedded mode, tests), which answers with the days it closed; on a
    worker otherwise, which answers at once with `closed_days` empty. `queued` says whether
    the broker took the task; false while it is down, the task waits in the outbox
    (`pending_task`) and goes out when the broker is back. Progress is in /operations/job-runs/.
    In-process, a step that fails (the book audit finding a breach, a lost connection) is a
    409 `close_day_failed` naming the step and day; the days before it stay closed.
    """

    permission_classes = [HasRole(ADMIN)]

    class InputSerializer(serializers.Serializer):
        as_of = serializers.DateField(required=False, allow_null=True, help_text="default: yesterday")

    class OutputSerializer(serializers.Serializer):
        as_of = serializers.DateField()
        closed_days = serializers.ListField(child=serializers.DateField())
        pending_task = serializers.IntegerField(help_text="the task's row in the outbox")
        queued = serializers.BooleanField(help_text="false: the broker is away; the outbox sends it later")
        task_id = serializers.CharField(help_text="Celery's id once queued, else empty")

    @extend_schema(
        operation_id="operations_close_day",
        request=InputSerializer,
        responses={202: OutputSerializer, 400: ErrorSerializer, 409: ErrorSerializer, 422: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        # Checked here too, so a real worker's refusal is a 422 now, not a failed task later.
        as_of = nightly.closable(data.get("as_of"))
        try:
            enqueued = task_enqueue(tasks.close_day, as_of.isoformat())
            result = enqueued.result
            closed = result.get() if isinstance(result, EagerResult) else []
        except Exception as error:  # noqa: BLE001 - in-process, the night's own failure is raised here
            raise close_day_failure(as_of, error) from error
        answer = {
            "as_of": as_of,
            "closed_days": closed,
            "pending_task": enqueued.pending.pk,
            "queued": enqueued.queued,
            "task_id": enqueued.task_id,
        }
        return Response(self.OutputSerializer(answer).data, status=status.HTTP_202_ACCEPTED)
