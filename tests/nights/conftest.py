"""The nights' shared fixtures: a Redis the test stops and starts, and the kill book's clean night."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from riskdesk.celery import app
from tests.nights import stack
from tests.nights.killbook import NIGHT_UNTIL


@pytest.fixture
def private_redis() -> Iterator[stack.PrivateRedis]:
    """A private Redis, running, with Celery in this process publishing to it (not eager)."""
    stack.require_postgres()
    server = stack.PrivateRedis()
    server.start()
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=server.url, task_always_eager=False)
    # The app caches its connection and producer pools: drop them so publishing uses this broker.
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield server
    finally:
        server.stop()
        app.conf.update(saved)
        app._pool = None
        app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def night() -> Iterator[stack.Night]:
    """The kill book (tests/nights/killbook.py) in a template database, and its night closed once, uninterrupted.

    Built once per session for every test that closes the same night another way (killed, lost ticks).
    """
    db = stack.require_postgres()
    pg = stack.Postgres(db)
    base = f"{db['NAME']}_killbase"
    clean = f"{db['NAME']}_killclean"
    with stack.redis_server() as (redis_url, _):
        stack.build_base(pg, base)
        pg.copy(base, clean)
        worker = stack.close_night(clean, pg, redis_url, worker="clean")
        watch = pg.connect(clean)
        try:
            stack.wait_until(lambda: stack.night_closed(watch), timeout=stack.NIGHT_TIMEOUT, what="the clean night")
        finally:
            stack.stop(worker)
        with watch.cursor() as cursor:
            cursor.execute(
                "SELECT step, business_date::text, chunks_total FROM core_jobrun "
                "WHERE business_date > %s::date - 9 ORDER BY business_date, id",
                [NIGHT_UNTIL],
            )
            runs = cursor.fetchall()
        watch.close()
        try:
            yield stack.Night(pg, base, redis_url, clean, stack.digest_of(pg.url(clean)), runs)
        finally:
            pg.drop(base)
            pg.drop(clean)
