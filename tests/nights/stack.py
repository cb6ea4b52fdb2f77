"""The pieces of a real stack for the nights' tests: a private Redis, database copies, worker processes.

Each run of a night gets its own Postgres database, copied from a template (CREATE
DATABASE ... TEMPLATE: the same rows and the same sequences, so the same ids), and its
own Celery worker process with DATABASE_URL pointing at it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import redis
from django.conf import settings

from tests.nights.killbook import NIGHT_UNTIL, SEEDED_UNTIL

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
REDIS_SERVER = "/usr/bin/redis-server"
NIGHT_ENV = {
    "BUSINESS_DATE_OVERRIDE": (NIGHT_UNTIL + timedelta(days=1)).isoformat(),
    "CLOSE_DAY_CHUNK_LOANS": "40",
    "SCORING_CHUNK_LOANS": "40",
    # A killed worker's task comes back to the next worker after this many seconds.
    "CELERY_VISIBILITY_TIMEOUT": "3",
    "LOG_LEVEL": "WARNING",
}
# Seconds a whole night of the kill book may take on a worker.
NIGHT_TIMEOUT = 180


class PrivateRedis:
    """A redis-server a test starts and stops at will (Redis down, Redis back), on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def queued(self) -> int:
        """Messages waiting in Celery's default queue."""
        return redis.Redis.from_url(self.url).llen("celery")

    def unacked(self) -> int:
        """Messages a worker took and has not acknowledged (kombu's Redis transport keeps them in a hash)."""
        return redis.Redis.from_url(self.url).hlen("unacked")


@dataclass
class Night:
    """The book before the night (a template database) and what an uninterrupted night leaves."""

    pg: Postgres
    base: str
    redis_url: str
    clean: str
    clean_digest: str
    runs: list[tuple[str, str, int]]  # (step, business date, chunks) of the clean night


def require_postgres() -> dict[str, Any]:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true requires Postgres")
        pytest.skip("the nights' stack tests copy Postgres databases")
    if not Path(REDIS_SERVER).exists():
        pytest.skip(f"{REDIS_SERVER} is not installed")
    return db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server (no persistence) on a free port; yields its URL and process."""
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.terminate()
        process.wait(10)


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answers on port {port}")


class Postgres:
    """Admin statements on the test server, and URLs of the databases on it."""

    def __init__(self, db: dict[str, Any]) -> None:
        self.db = db

    def url(self, name: str) -> str:
        password = f":{self.db['PASSWORD']}" if self.db.get("PASSWORD") else ""
        return (
            f"postgres://{self.db['USER']}{password}@{self.db['HOST'] or '127.0.0.1'}:{self.db['PORT'] or 5432}/{name}"
        )

    def connect(self, name: str = "postgres") -> Any:
        connection = psycopg2.connect(
            dbname=name,
            user=self.db["USER"],
            password=self.db.get("PASSWORD") or None,
            host=self.db["HOST"] or "127.0.0.1",
            port=self.db["PORT"] or 5432,
        )
        connection.autocommit = True
        return connection

    def admin(self, sql: str) -> None:
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def drop(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def copy(self, template: str, name: str) -> str:
        self.drop(name)
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name


def manage(*args: str, database_url: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run `manage.py args` on `database_url`; return its stdout."""
    environment = {**os.environ, **NIGHT_ENV, **(env or {}), "DATABASE_URL": database_url}
    environment.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def digest_of(database_url: str) -> str:
    return manage("book_digest", database_url=database_url).strip().splitlines()[-1]


def start_worker(
    *, database_url: str, redis_url: str, name: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A real Celery worker process (solo pool) on `redis_url`, writing to `database_url`."""
    environment = {**os.environ, **NIGHT_ENV, **(env or {}), "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    return subprocess.Popen(
        [
            str(VENV_BIN / "celery"),
            "-A",
            "riskdesk",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"{name}@%h",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(10)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            kill(process)


def wait_until(condition: Callable[[], bool], *, timeout: float, poll: float = 0.1, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def fetch_one(connection: Any, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def build_base(pg: Postgres, name: str) -> None:
    """The kill test's book in database `name`: migrated, seeded (tests/nights/killbook.py), nothing closed after SEEDED_UNTIL."""
    pg.drop(name)
    pg.admin(f'CREATE DATABASE "{name}"')
    url = pg.url(name)
    manage("migrate", "--verbosity", "0", database_url=url)
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "BUSINESS_DATE_OVERRIDE": SEEDED_UNTIL.isoformat(),
        "DJANGO_SETTINGS_MODULE": "riskdesk.settings",
    }
    environment.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "-m", "tests.nights.killbook"], cwd=ROOT, env=environment, check=True, capture_output=True
    )


def publish(redis_url: str, name: str, *args: str) -> None:
    """Send task `name` through `redis_url`, as a client of that broker would."""
    from riskdesk.celery import app

    with app.connection_for_write(redis_url) as connection:
        app.send_task(name, args, connection=connection)


def close_night(
    night_db: str, pg: Postgres, redis_url: str, *, worker: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a worker on `night_db` and publish the night's close_day; return the worker."""
    process = start_worker(database_url=pg.url(night_db), redis_url=redis_url, name=worker, env=env)
    publish(redis_url, "riskdesk.tasks.close_day", NIGHT_UNTIL.isoformat())
    return process


def night_closed(connection: Any) -> bool:
    row = fetch_one(connection, "SELECT max(business_date) FROM core_closedday")
    return row is not None and row[0] == NIGHT_UNTIL
