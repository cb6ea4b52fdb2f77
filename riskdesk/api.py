"""Project-level API views: the ones that compose the apps (the nightly chain)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from riskdesk import nightly, tasks
from riskdesk.core.api import ErrorSerializer, validated
from riskdesk.core.permissions import HasRole
from riskdesk.core.roles import ADMIN


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
        enqueued, closed = tasks.close_day_ask(as_of)
        answer = {
            "as_of": as_of,
            "closed_days": closed or [],
            "pending_task": enqueued.pending.pk,
            "queued": enqueued.queued,
            "task_id": enqueued.task_id,
        }
        return Response(self.OutputSerializer(answer).data, status=status.HTTP_202_ACCEPTED)
