"""Health checks for the containers: the web desk's /healthz, and the Celery worker's ping.

Cheap on purpose: the orchestrator asks every few seconds. No ORM model is read; the database
answers a SELECT 1 (a connection that cannot be made gives up after DATABASE_CONNECT_TIMEOUT
seconds) and the broker a PING with a one-second socket timeout.
"""

from __future__ import annotations

import socket

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from riskdesk.celery import app

BROKER_TIMEOUT_SECONDS = 1.0


def database_check() -> str:
    """'ok' when the database answers SELECT 1, else 'error'."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return "error"
    return "ok"


def broker_check() -> str:
    """'ok' when the Redis broker answers PING, 'down' when it does not, 'eager' when tasks run in-process."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except (redis.RedisError, OSError):
        return "down"
    finally:
        client.close()
    return "ok"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The web desk's health: 200 while the database answers, 503 when it does not.

    A broker that is down is reported but is not a failure of the web container: the desk and
    the API read and write the database without it, and restarting web would not bring Redis
    back. The worker's own health check (worker_ping) is what fails when the broker is gone.
    """
    checks = {"database": database_check(), "broker": broker_check()}
    healthy = checks["database"] == "ok"
    status = "ok" if healthy and checks["broker"] != "down" else "degraded" if healthy else "error"
    return JsonResponse({"status": status, "checks": checks}, status=200 if healthy else 503)


def worker_ping(*, timeout: float) -> list[str]:
    """The Celery workers on this host that answer a ping through the broker within `timeout` seconds."""
    host = socket.gethostname()
    replies = app.control.ping(timeout=timeout) or []
    # A node is named "<name>@<host>" (celery worker -n, default celery@%h).
    return sorted(node for reply in replies for node in reply if node.partition("@")[2] == host)
