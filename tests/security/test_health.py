"""Health checks: /healthz for the web container, worker_health for the Celery worker's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test import Client

from riskdesk.celery import app
from tests.conftest import redis_url


def refuse_connection(*args: object, **kwargs: object) -> None:
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")


@pytest.mark.django_db
def test_healthz_answers_200_without_login_when_the_database_answers(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    # The suite runs Celery eagerly: there is no broker to ask.
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "eager"}}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_does_not(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "cursor", refuse_connection)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "error", "broker": "eager"}}


@pytest.mark.django_db
def test_healthz_reports_a_broker_that_is_down_and_stays_200(client: Client, settings: pytest.FixtureRequest) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "broker": "down"}}


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_sees_the_broker_up(client: Client, settings: pytest.FixtureRequest) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_url()

    response = client.get("/healthz")

    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_healthz_is_exempt_from_the_https_redirect(client: Client, settings: pytest.FixtureRequest) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301


@pytest.mark.django_db
def test_healthz_answers_get_and_head_only(client: Client) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.fixture
def redis_broker(settings: pytest.FixtureRequest) -> Iterator[str]:
    url = redis_url()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = url
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=url, task_always_eager=False)
    # The control commands publish through the app's pools, which an eager task earlier in the
    # run may have built on the in-memory transport: built afresh on Redis, dropped after.
    app._pool = app.amqp._producer_pool = None
    try:
        yield url
    finally:
        app.conf.update(saved)
        app._pool = app.amqp._producer_pool = None


@pytest.mark.redis
def test_worker_health_fails_with_no_worker(redis_broker: str) -> None:
    with pytest.raises(CommandError, match="No Celery worker on this host answered a ping within 0.5 s"):
        call_command("worker_health", "--timeout", "0.5")


@pytest.mark.redis
def test_worker_health_passes_with_a_worker_on_this_host(redis_broker: str, capsys: pytest.CaptureFixture) -> None:
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        call_command("worker_health", "--timeout", "2")

    assert capsys.readouterr().out.strip() == f"ok: {worker.hostname}"


def test_worker_health_fails_when_tasks_run_in_process(settings: pytest.FixtureRequest) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True

    with pytest.raises(CommandError, match="No broker: tasks run in-process"):
        call_command("worker_health")
