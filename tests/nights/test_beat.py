"""Beat's close of day survives Redis being down at its hour and a worker killed mid-night.

Beat sends its ticks straight to the broker (no outbox): a tick it cannot send is lost. So
close of day is ticked every 15 minutes of the night (settings.CELERY_BEAT_SCHEDULE) and each
tick is idempotent: the next tick after Redis returns closes the night, the next tick after a
worker dies resumes its job runs - without the broker's visibility timeout (six hours) - and a
tick that finds the night running in a live worker returns at once (riskdesk.tasks.close_day).
"""

from __future__ import annotations

from typing import Any

import pytest
from celery.beat import Scheduler, SchedulingError
from django.conf import settings

from riskdesk.celery import app
from tests.nights import stack
from tests.nights.killbook import SEEDED_UNTIL

pytestmark = pytest.mark.redis

# Workers that never hand a dead worker's task to another within the test (production's timeout).
PRODUCTION_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": str(6 * 3600)}


def beat_scheduler() -> Scheduler:
    """Beat's scheduler over the project's schedule, sending as beat sends (`apply_async` of an entry)."""
    return Scheduler(app=app, lazy=False)


def test_close_day_is_ticked_every_quarter_hour_from_one_to_a_quarter_to_seven() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["close-day"]
    assert (entry["task"], entry["schedule"].hour, entry["schedule"].minute) == (
        "riskdesk.tasks.close_day",
        {1, 2, 3, 4, 5, 6},
        {0, 15, 30, 45},
    )
    # A tick no worker took in its quarter is dropped: ticks never pile up behind a long night.
    assert entry["options"] == {"expires": 15 * 60}


def runs_done(connection: Any) -> int:
    """Job runs of the night (the days after the seeded book) done so far."""
    sql = "SELECT count(*) FROM core_jobrun WHERE status = 'done' AND business_date > %s"
    return stack.fetch_one(connection, sql, (SEEDED_UNTIL,))[0]


def night_lock_held(connection: Any) -> bool:
    row = stack.fetch_one(
        connection,
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND d.datname = current_database() AND l.granted",
    )
    return bool(row and row[0])


def test_the_next_ticks_close_a_night_beat_could_not_send_and_resume_one_whose_worker_was_killed(
    night: stack.Night, private_redis: stack.PrivateRedis
) -> None:
    db = night.pg.copy(night.base, f"{night.base}_ticks")
    watch = night.pg.connect(db)
    workers: list[Any] = []

    def worker(name: str) -> Any:
        workers.append(
            stack.start_worker(
                database_url=night.pg.url(db), redis_url=private_redis.url, name=name, env=PRODUCTION_REDELIVERY
            )
        )
        return workers[-1]

    scheduler = beat_scheduler()
    tick = scheduler.schedule["close-day"]
    try:
        # 01:00: Redis is down; beat's send fails at once and nothing is left to deliver it later.
        private_redis.stop()
        with pytest.raises(SchedulingError, match="Couldn't apply scheduled task close-day"):
            scheduler.apply_async(tick, advance=False)

        # 01:15: Redis is back; the tick starts the night, whose worker is killed a third of the way in.
        private_redis.start()
        first = worker("tick-1")
        scheduler.apply_async(tick, advance=False)
        stack.wait_until(
            lambda: runs_done(watch) >= len(night.runs) // 3 or first.poll() is not None,
            timeout=stack.NIGHT_TIMEOUT,
            poll=0.01,
            what="a third of the night",
        )
        stack.kill(first)
        assert not stack.night_closed(watch)
        assert private_redis.unacked() == 1  # the killed worker's tick: back only after six hours

        # 01:30: the next tick resumes the night; 01:45's, on another worker while it runs, returns at once.
        worker("tick-2")
        worker("tick-3")
        scheduler.apply_async(tick, advance=False)
        stack.wait_until(lambda: night_lock_held(watch), timeout=60, poll=0.01, what="the resumed night")
        scheduler.apply_async(tick, advance=False)
        stack.wait_until(lambda: stack.night_closed(watch), timeout=stack.NIGHT_TIMEOUT, what="the resumed night")
        stack.wait_until(
            lambda: private_redis.queued() == 0 and private_redis.unacked() == 1, timeout=60, what="the last tick"
        )
        attempts = stack.fetch_one(
            watch,
            "SELECT count(*), count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE attempts > 1), "
            "max(attempts) FROM core_jobrun WHERE business_date > %s",
            (SEEDED_UNTIL,),
        )
    finally:
        for process in workers:
            stack.stop(process)
        watch.close()

    # Every run of the night done; none run twice but the one the killed worker was in (no joining tick).
    total, done, rerun, most = attempts
    assert (total, done) == (len(night.runs), len(night.runs)) and rerun <= 1 and most <= 2
    try:
        assert stack.digest_of(night.pg.url(db)) == night.clean_digest
    finally:
        night.pg.drop(db)
