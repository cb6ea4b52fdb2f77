"""Job runs shared by several workers: each chunk is done once, steps stay in order."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date

import pytest
from django.db import connection

from riskdesk import nightly
from riskdesk.core.models import JobChunk, JobRun
from riskdesk.lending import closeday
from riskdesk.lending.models import Loan
from tests.conftest import run_concurrently


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_share_a_night_and_do_each_chunk_once(
    make_loan: Callable[..., Loan], settings: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs Postgres")
    settings.CLOSE_DAY_CHUNK_LOANS = 1
    loans = [
        make_loan(principal="2000.00", term=3, method="equal_principal", disbursed_on=date(2026, 1, 10))
        for _ in range(6)
    ]
    done: Counter[tuple[str, date, int]] = Counter()
    order: list[tuple[str, date]] = []
    lock = threading.Lock()

    def counting(step: closeday.Step) -> closeday.Step:
        def run_chunk(day: date, lo: int, hi: int) -> dict[str, int]:
            rows = step.run_chunk(day, lo, hi)
            with lock:
                done[(step.name, day, lo)] += 1
                order.append((step.name, day))
            return rows

        return dataclasses.replace(step, run_chunk=run_chunk)

    monkeypatch.setattr(nightly, "STEPS", [counting(s) for s in closeday.STEPS])
    assert run_concurrently(lambda _: nightly.close_days(as_of=date(2026, 2, 20)), 2) == []
    assert set(done.values()) == {1}
    assert len(done) == (6 + 1) * 42  # six loan chunks and one snapshot chunk a day, Jan 10 - Feb 20
    # No snapshot of a day was taken before every loan chunk of that day was done.
    for k, (step, day) in enumerate(order):
        if step == "lending.snapshot":
            assert sum(1 for s, d in order[:k] if s == "lending.day_state" and d == day) == 6
    assert JobRun.objects.filter(status="done").count() == 2 * 42
    assert not JobChunk.objects.filter(done=False).exists()
    for loan in loans:
        loan.refresh_from_db()
        assert (loan.dpd, loan.bucket) == (10, "M1")  # first installment fell due on Feb 10
