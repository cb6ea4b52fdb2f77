"""Project-level API views: the ones that compose the apps (the nightly chain)."""

from __future__ import annotations

from celery.result import EagerResult
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

    Runs the nightly task: in-process where Celery is eager (the embedded mode, tests),
    which answers with the days it closed; on a worker otherwise, which answers at once
    with `closed_days` empty and the task id. Progress is in /operations/job-runs/.
    """

    permission_classes = [HasRole(ADMIN)]

    class InputSerializer(serializers.Serializer):
        as_of = serializers.DateField(required=False, allow_null=True, help_text="default: yesterday")

    class OutputSerializer(serializers.Serializer):
        as_of = serializers.DateField()
        closed_days = serializers.ListField(child=serializers.DateField())
        task_id = serializers.CharField()

    @extend_schema(
        operation_id="operations_close_day",
        request=InputSerializer,
        responses={202: OutputSerializer, 400: ErrorSerializer, 422: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        # Checked here too, so a real worker's refusal is a 422 now, not a failed task later.
        as_of = nightly.closable(data.get("as_of"))
        result = tasks.close_day.delay(as_of.isoformat())
        closed = result.get() if isinstance(result, EagerResult) else []
        return Response(
            self.OutputSerializer({"as_of": as_of, "closed_days": closed, "task_id": result.id}).data,
            status=status.HTTP_202_ACCEPTED,
        )
