"""Close of day survives its worker being SIGKILLed anywhere: the book ends as an uninterrupted night's.

A book with nine open days (tests/nights/killbook.py) is closed by a real Celery worker
process through a private Redis. At a seeded random point - a step, a day and a count of
chunks done, read from the job runs - the worker is SIGKILLed; a new worker starts, the
unacknowledged task comes back by itself (acks_late and the broker's visibility timeout,
a few seconds here) and the night finishes. Its book digest must equal the digest of the
same book closed without a kill. RISKDESK_KILL_POINTS (default 4) sets how many random
points; RISKDESK_KILL_SEED picks them.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any

import pytest

from tests.nights import stack
from tests.nights.killbook import NIGHT_UNTIL

# No database marker: every night runs in databases of its own (copies of the night fixture's
# template), never in the test database, whose migration-seeded rows later tests need.
pytestmark = pytest.mark.redis

KILL_POINTS = int(os.environ.get("RISKDESK_KILL_POINTS", "4"))
KILL_SEED = int(os.environ.get("RISKDESK_KILL_SEED", "6"))


@dataclass(frozen=True)
class KillPoint:
    step: str
    business_date: str
    chunks_done: int


def run_with_kill(night: stack.Night, name: str, should_kill: Any, after_kill: Any = None) -> dict[str, Any]:
    """Close the night on a copy of the base, SIGKILL the worker when `should_kill(connection)`, finish it."""
    db = night.pg.copy(night.base, name)
    watch = night.pg.connect(db)
    first = stack.close_night(db, night.pg, night.redis_url, worker=f"{name}-1")
    try:
        stack.wait_until(
            lambda: should_kill(watch) or first.poll() is not None,
            timeout=stack.NIGHT_TIMEOUT,
            poll=0.002,
            what="the kill point",
        )
        stack.kill(first)
        if after_kill:
            after_kill()
        seen = stack.fetch_one(
            watch,
            "SELECT step, business_date::text, chunks_done, chunks_total, status FROM core_jobrun "
            "WHERE status <> 'done' ORDER BY business_date, id LIMIT 1",
        )
        assert not stack.night_closed(watch), "the worker finished the night before the kill point"
        second = stack.start_worker(database_url=night.pg.url(db), redis_url=night.redis_url, name=f"{name}-2")
        try:
            stack.wait_until(
                lambda: stack.night_closed(watch), timeout=stack.NIGHT_TIMEOUT, what="the night after the kill"
            )
        finally:
            stack.stop(second)
        watch.close()
        return {"killed_in": seen, "digest": stack.digest_of(night.pg.url(db))}
    finally:
        stack.kill(first)
        if not watch.closed:
            watch.close()
        night.pg.drop(db)


def chunks_reached(point: KillPoint) -> Any:
    def reached(connection: Any) -> bool:
        row = stack.fetch_one(
            connection,
            "SELECT chunks_done, status FROM core_jobrun WHERE step = %s AND business_date = %s",
            (point.step, point.business_date),
        )
        return row is not None and (row[0] >= point.chunks_done or row[1] == "done")

    return reached


@pytest.mark.parametrize("k", range(KILL_POINTS))
def test_a_night_killed_inside_a_step_ends_as_an_uninterrupted_one(night: stack.Night, k: int) -> None:
    rng = random.Random(KILL_SEED * 1000 + k)
    step, business_date, chunks = rng.choice(night.runs)
    point = KillPoint(step, business_date, rng.randrange(max(chunks, 1)))

    outcome = run_with_kill(night, f"{night.base}_k{k}", chunks_reached(point))

    print(f"kill point {k}: {point} -> killed in {outcome['killed_in']}")
    assert outcome["digest"] == night.clean_digest


def test_a_night_killed_inside_a_step_finish_ends_as_an_uninterrupted_one(night: stack.Night) -> None:
    # Scoring's finish writes the monitoring row, which its chunks never touch: holding that
    # table locked from the start of the day stops the worker inside the finish (its
    # transaction open, the night's earlier writes done), where it is killed.
    day = NIGHT_UNTIL.fromordinal(NIGHT_UNTIL.toordinal() - 3).isoformat()
    lock: list[Any] = []

    def in_scoring_finish(connection: Any) -> bool:
        if not lock:
            started = stack.fetch_one(
                connection, "SELECT 1 FROM core_jobrun WHERE step = 'lending.day_state' AND business_date = %s", (day,)
            )
            if started:
                lock.append(night.pg.connect(connection.info.dbname))
                lock[0].autocommit = False
                with lock[0].cursor() as cursor:
                    cursor.execute("LOCK TABLE riskmodels_modelmonitor IN ACCESS EXCLUSIVE MODE")
            return False
        waiting = stack.fetch_one(
            connection,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        return bool(waiting and waiting[0])

    def release() -> None:
        lock[0].rollback()
        lock[0].close()

    try:
        outcome = run_with_kill(night, f"{night.base}_finish", in_scoring_finish, release)
    finally:
        if lock and not lock[0].closed:
            lock[0].close()

    print(f"finish kill: killed in {outcome['killed_in']}")
    step, business_date, chunks_done, chunks_total, status = outcome["killed_in"]
    assert (step, business_date, status) == ("riskmodels.scoring", day, "running")
    assert chunks_done == chunks_total
    assert outcome["digest"] == night.clean_digest
