"""Postgres connection lost mid-step: the step fails cleanly, its job run says so, a rerun completes it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import psycopg2
import pytest
from django.db import OperationalError, connection, transaction

from riskdesk import nightly
from riskdesk.core.jobs import RowCounts, Step
from riskdesk.core.models import ClosedDay, JobChunk, JobRun
from riskdesk.lending import closeday, services
from riskdesk.lending.models import CreditLineEvent, Installment, Loan
from riskdesk.lending.selectors import book_digest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
DAY = date(2026, 3, 4)  # the first installments go overdue: penalties start, the line freezes


def kill_own_backend() -> None:
    """Terminate this connection's Postgres backend from a second connection, as a restart or failover would."""
    pid = connection.connection.info.backend_pid
    other = psycopg2.connect(**connection.get_connection_params())
    other.autocommit = True
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()


def dying_after(work: Callable[..., RowCounts]) -> Callable[..., RowCounts]:
    """Do the real work (its writes are in the transaction), then lose the connection before commit."""

    def run(*args: object) -> RowCounts:
        rows = work(*args)
        kill_own_backend()
        Installment.objects.count()  # the next statement finds the backend gone
        return rows

    return run


@pytest.fixture
def book(make_loan: Callable[..., Loan]) -> list[Loan]:
    if connection.vendor != "postgresql":
        pytest.skip("terminates a Postgres backend")
    loans = [make_loan(), make_loan(principal="3000.00", term=3, method="interest_first")]
    services.payment_post(
        loan=loans[0],
        amount=Decimal("500.00"),
        value_date=date(2026, 2, 28),
        kind="regular",
        channel="app",
        idempotency_key="k1",
    )
    # Nothing falls due before Feb 28: the nights before it change nothing, so the book starts closing there.
    ClosedDay.objects.create(business_date=date(2026, 2, 26))
    nightly.close_days(as_of=DAY - date.resolution)
    return loans


def uninterrupted_digest() -> str:
    """The book after closing DAY without failure, measured inside a transaction that is rolled back."""
    with transaction.atomic():
        nightly.close_days(as_of=DAY)
        digest = book_digest()
        transaction.set_rollback(True)
    return digest


@pytest.mark.parametrize("phase", ["run_chunk", "finish"])
def test_a_lost_connection_fails_the_step_cleanly_and_a_rerun_completes_it(
    book: list[Loan], monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    expected = uninterrupted_digest()
    before = book_digest()
    assert expected != before  # closing the day moves penalties and days past due
    dying: Step = dataclasses.replace(closeday.DAY_STATE, **{phase: dying_after(getattr(closeday.DAY_STATE, phase))})
    monkeypatch.setattr(nightly, "STEPS", [dying, *nightly.STEPS[1:]])

    with pytest.raises(OperationalError, match="terminat|closed"):
        nightly.close_days(as_of=DAY)

    # The step's own exception surfaced; its job run, written on a fresh connection, says failed and why.
    run = JobRun.objects.get(step=closeday.DAY_STATE.name, business_date=DAY)
    assert run.status == JobRun.Status.FAILED
    assert run.error.startswith("OperationalError: ") and "terminat" in run.error
    # Nothing of the chunk (or the finish) was written: its transaction rolled back with the connection.
    chunks_done = list(JobChunk.objects.filter(job_run=run).values_list("done", flat=True))
    if phase == "run_chunk":
        assert (chunks_done, book_digest()) == ([False], before)
    else:
        assert chunks_done == [True]  # committed before the finish began
    assert not CreditLineEvent.objects.filter(kind="freeze").exists()
    assert not ClosedDay.objects.filter(business_date=DAY).exists()
    assert not JobRun.objects.filter(business_date=DAY).exclude(pk=run.pk).exists()  # the night stopped there

    monkeypatch.undo()
    assert nightly.close_days(as_of=DAY) == [DAY]
    run.refresh_from_db()
    assert (run.status, run.error, run.attempts) == (JobRun.Status.DONE, "", 2)
    assert book_digest() == expected
    assert CreditLineEvent.objects.filter(kind="freeze", on=DAY).count() == 1
