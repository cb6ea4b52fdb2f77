"""Close of day on the database: penalties, DPD, buckets, lines, reruns, replay agreement."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskdesk import nightly
from riskdesk.core.errors import DomainError
from riskdesk.core.models import ClosedDay, JobChunk, JobRun
from riskdesk.lending import closeday, services
from riskdesk.lending.models import (
    CreditLine,
    CreditLineEvent,
    Loan,
    PortfolioSnapshot,
    Product,
)
from riskdesk.lending.selectors import book_digest, credit_line_available
from tests.lending.test_conservation import assert_book_balances

D = Decimal
pytestmark = pytest.mark.django_db


def history(loan: Loan) -> list[tuple[date, str, str, int]]:
    return list(loan.bucket_history.order_by("on").values_list("on", "from_bucket", "to_bucket", "dpd"))


def pay(loan: Loan, on: date, amount: str, kind: str = "regular", key: str | None = None) -> None:
    services.payment_post(
        loan=loan,
        amount=D(amount),
        value_date=on,
        kind=kind,
        channel="app",
        idempotency_key=key or f"{loan.pk}-{on}-{amount}",
    )


def test_the_night_accrues_penalty_and_moves_buckets(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 4, 5))
    loan.refresh_from_db()
    first, second = loan.installments.order_by("seq")[:2]
    # 938.71 x 36 days x 0.000675 = 22.8107; 935.61 x 5 days (Mar 31 -> Apr 5) = 3.1577.
    assert (first.penalty_accrued, second.penalty_accrued) == (D("22.81"), D("3.16"))
    assert (loan.dpd, loan.bucket, loan.in_grace, loan.grace_end) == (36, "M2", False, date(2026, 3, 3))
    assert loan.penalty_accrued == D("25.97")
    assert loan.overdue_amount == D("1089.91") * 2 + D("25.97")
    assert history(loan) == [(date(2026, 3, 1), "M0", "M1", 1), (date(2026, 3, 31), "M1", "M2", 31)]


def test_inside_grace_no_penalty_is_charged_and_the_loan_is_in_grace(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 3))
    loan.refresh_from_db()
    assert (loan.dpd, loan.bucket, loan.in_grace, loan.penalty_accrued) == (3, "M1", True, D("0.00"))
    assert loan.credit_line.status == CreditLine.Status.ACTIVE
    nightly.close_days(as_of=date(2026, 3, 4))
    loan.refresh_from_db()
    assert (loan.dpd, loan.in_grace) == (4, False)
    # Crystallised from the due date: 938.71 x 4 x 0.000675 = 2.5345.
    assert loan.penalty_accrued == D("2.53")


def test_closing_a_day_twice_changes_nothing(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    make_loan(principal="3000.00", term=3, method="equal_principal", disbursed_on=date(2026, 2, 10))
    pay(loan, date(2026, 2, 28), "500.00")
    nightly.close_days(as_of=date(2026, 4, 5))
    before = book_digest()
    assert nightly.close_days(as_of=date(2026, 4, 5)) == []
    assert book_digest() == before
    # Even forcing every step of the last day to run again leaves the book as it was.
    JobRun.objects.filter(business_date=date(2026, 4, 5)).delete()
    ClosedDay.objects.filter(business_date=date(2026, 4, 5)).delete()
    assert nightly.close_days(as_of=date(2026, 4, 5)) == [date(2026, 4, 5)]
    assert book_digest() == before
    assert PortfolioSnapshot.objects.filter(business_date=date(2026, 4, 5)).count() == 2


def test_each_step_is_one_recorded_job_run_per_day(make_loan: Callable[..., Loan]) -> None:
    make_loan(disbursed_on=date(2026, 3, 1))
    days = nightly.close_days(as_of=date(2026, 3, 5))
    assert days == [date(2026, 3, d) for d in range(1, 6)]
    runs = JobRun.objects.order_by("business_date", "step").values_list("business_date", "step", "status")
    assert list(runs) == [
        (date(2026, 3, d), step, "done") for d in range(1, 6) for step in sorted(s.name for s in nightly.STEPS)
    ]
    run = JobRun.objects.get(step="lending.day_state", business_date=date(2026, 3, 5))
    assert run.chunks_total == run.chunks_done == 1 and run.duration_ms is not None
    assert set(run.rows) >= {"loans_delinquent", "penalties_changed", "bucket_changes", "lines_frozen"}


def test_a_missed_day_is_caught_up_in_order(make_loan: Callable[..., Loan]) -> None:
    make_loan()
    nightly.close_days(as_of=date(2026, 2, 27))
    assert nightly.close_days(as_of=date(2026, 3, 2)) == [date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2)]
    with pytest.raises(DomainError) as not_over:
        nightly.close_days(as_of=date(2026, 11, 23))
    assert not_over.value.code == "day_not_over"


def test_a_crashed_step_is_run_again_safely(make_loan: Callable[..., Loan], monkeypatch: pytest.MonkeyPatch) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 9))
    calls = {"n": 0}
    real = closeday.DAY_STATE.run_chunk

    def crash_once(day: date, lo: int, hi: int) -> dict[str, int]:
        calls["n"] += 1
        rows = real(day, lo, hi)
        if calls["n"] == 1:
            raise RuntimeError("worker lost")
        return rows

    step = dataclasses.replace(closeday.DAY_STATE, run_chunk=crash_once)
    monkeypatch.setattr(nightly, "STEPS", [step, closeday.SNAPSHOT])
    with pytest.raises(RuntimeError):
        nightly.close_days(as_of=date(2026, 3, 10))
    failed = JobRun.objects.get(step="lending.day_state", business_date=date(2026, 3, 10))
    assert failed.status == "failed" and "worker lost" in failed.error
    assert not JobChunk.objects.filter(job_run=failed, done=True).exists()  # the chunk's work rolled back
    assert not ClosedDay.objects.filter(business_date=date(2026, 3, 10)).exists()
    assert nightly.close_days(as_of=date(2026, 3, 10)) == [date(2026, 3, 10)]
    loan.refresh_from_db()
    assert (loan.dpd, loan.penalty_accrued) == (10, D("6.34"))  # 938.71 x 10 x 0.000675 = 6.3363
    assert JobRun.objects.get(pk=failed.pk).attempts == 2


def test_a_backdated_payment_removes_a_penalty_and_rewrites_bucket_history(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 10))
    loan.refresh_from_db()
    assert (loan.dpd, loan.penalty_accrued) == (10, D("6.34"))
    pay(loan, date(2026, 3, 2), "1089.91")  # arrived inside grace, posted late
    loan.refresh_from_db()
    assert (loan.dpd, loan.bucket, loan.penalty_accrued, loan.overdue_amount) == (0, "M0", D("0.00"), D("0.00"))
    assert history(loan) == [(date(2026, 3, 1), "M0", "M1", 1), (date(2026, 3, 2), "M1", "M0", 0)]
    assert loan.installments.get(seq=1).penalty_accrued == D("0.00")


def test_a_reversal_brings_the_penalty_back(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    pay(loan, date(2026, 2, 28), "1089.91", key="autodebit-1")
    nightly.close_days(as_of=date(2026, 3, 10))
    loan.refresh_from_db()
    assert loan.dpd == 0
    payment = loan.payments.get()
    services.payment_reverse(payment=payment, reason="autodebit bounced")
    loan.refresh_from_db()
    assert (loan.dpd, loan.bucket, loan.penalty_accrued) == (10, "M1", D("6.34"))
    assert history(loan) == [(date(2026, 3, 1), "M0", "M1", 1)]
    assert not loan.allocations.exists()
    with pytest.raises(DomainError) as twice:
        services.payment_reverse(payment=payment, reason="again")
    assert twice.value.code == "already_reversed"


def test_the_line_freezes_when_overdue_and_lifts_after_cooling_off(
    make_loan: Callable[..., Loan], product: Product
) -> None:
    loan = make_loan()
    line = loan.credit_line
    nightly.close_days(as_of=date(2026, 3, 3))
    line.refresh_from_db()
    assert line.status == "active"  # in grace: not overdue yet
    nightly.close_days(as_of=date(2026, 3, 4))
    line.refresh_from_db()
    assert (line.status, line.freeze_reason, line.frozen_on, line.unfreeze_on) == (
        "frozen",
        "loan_overdue",
        date(2026, 3, 4),
        None,
    )
    assert credit_line_available(line) == D("0.00")
    with pytest.raises(DomainError) as refused:
        services.loan_originate(
            credit_line=line,
            product=product,
            principal=D("1000.00"),
            term=3,
            method="equal_principal",
            disbursed_on=date(2026, 3, 5),
        )
    assert refused.value.code == "credit_line_frozen" and "since 2026-03-04" in refused.value.message
    pay(loan, date(2026, 3, 5), loan_overdue_total(loan, date(2026, 3, 5)))
    nightly.close_days(as_of=date(2026, 3, 5))
    line.refresh_from_db()
    assert (line.status, line.freeze_reason, line.unfreeze_on) == ("frozen", "cooling_off", date(2026, 4, 4))
    assert "it lifts on 2026-04-04" in services.frozen_message(line)
    pay(loan, date(2026, 3, 31), "1089.91")  # installment 2 on time: nothing overdue again
    nightly.close_days(as_of=date(2026, 4, 4))
    line.refresh_from_db()
    assert (line.status, line.freeze_reason, line.unfreeze_on) == ("active", "", None)
    events = list(
        CreditLineEvent.objects.filter(credit_line=line).exclude(kind="opened").values_list("on", "kind", "reason")
    )
    assert events == [
        (date(2026, 3, 4), "freeze", "loan_overdue"),
        (date(2026, 3, 5), "cooling_off", "cured"),
        (date(2026, 4, 4), "unfreeze", "cooling_off_ended"),
    ]


def loan_overdue_total(loan: Loan, on: date) -> str:
    from riskdesk.lending.selectors import loan_ledger

    loan.refresh_from_db()
    return str(loan_ledger(loan).amount_due(on))


def test_an_incident_window_gives_extra_grace_retroactively(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 6))
    loan.refresh_from_db()
    assert (loan.in_grace, loan.penalty_accrued) == (False, D("3.80"))  # 938.71 x 6 x 0.000675
    services.incident_window_create(
        product=None, start=date(2026, 2, 27), end=date(2026, 3, 1), extra_grace_days=5, reason="autodebit outage"
    )
    loan.refresh_from_db()
    first = loan.installments.get(seq=1)
    assert first.grace_end == date(2026, 3, 8)
    assert (loan.in_grace, loan.penalty_accrued, loan.grace_end) == (True, D("0.00"), date(2026, 3, 8))
    pay(loan, date(2026, 3, 7), "1089.91")
    nightly.close_days(as_of=date(2026, 3, 10))
    loan.refresh_from_db()
    assert (loan.dpd, loan.penalty_accrued) == (0, D("0.00"))
    with pytest.raises(DomainError) as overlap:
        services.incident_window_create(
            product=None, start=date(2026, 3, 1), end=date(2026, 3, 2), extra_grace_days=1, reason="x"
        )
    assert overlap.value.code == "overlapping_window"


def test_a_grace_policy_version_governs_installments_due_from_its_date(
    make_loan: Callable[..., Loan], product: Product
) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 10))
    with pytest.raises(DomainError) as past:
        services.grace_policy_create(product=product, effective_from=date(2026, 3, 10), grace_days=10)
    assert past.value.code == "date_in_closed_past"
    services.grace_policy_create(
        product=product, effective_from=date(2026, 3, 15), grace_days=10, penalty_start="grace_end"
    )
    first, second = loan.installments.order_by("seq")[:2]
    assert (first.grace_end, first.penalty_from) == (date(2026, 3, 3), date(2026, 2, 28))
    assert (second.grace_end, second.penalty_from) == (date(2026, 4, 10), date(2026, 4, 10))


def test_a_payment_value_dated_after_a_catch_up_day_is_replayed_through_it(make_loan: Callable[..., Loan]) -> None:
    """Closing Mar 2-5 at once, with money value-dated Mar 4 already posted, is exact."""
    loan = make_loan()
    other = make_loan(principal="2000.00", term=3, method="equal_principal")
    nightly.close_days(as_of=date(2026, 3, 1))
    # After grace: penalty 938.71 x 4 x 0.000675 = 2.53 comes first.
    pay(loan, date(2026, 3, 4), "1092.44")
    pay(other, date(2026, 3, 4), "700.00")
    nightly.close_days(as_of=date(2026, 3, 5))
    caught_up = book_digest()
    runs = JobRun.objects.filter(step="lending.day_state", business_date__range=(date(2026, 3, 2), date(2026, 3, 3)))
    assert all(r.rows["loans_replayed"] == 2 for r in runs)
    # The same book closed day by day, each payment posted on its own day, is identical.
    for one in Loan.objects.all():
        services.loan_replay(loan=one)
    assert book_digest() == caught_up
    assert history(loan) == [(date(2026, 3, 1), "M0", "M1", 1), (date(2026, 3, 4), "M1", "M0", 0)]


# -- the nightly set-based path and the per-loan replay always agree ------------------------


payment_plans = st.lists(
    st.tuples(
        st.integers(0, 1),  # which loan
        st.integers(0, 105),  # day offset from Feb 1
        st.decimals(min_value=D("10.00"), max_value=D("1500.00"), places=2),
        st.sampled_from(["regular", "regular", "prepayment"]),
    ),
    max_size=6,
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(plan=payment_plans, grace_end_start=st.booleans())
def test_nightly_and_replay_agree_on_random_histories(
    make_loan: Callable[..., Loan], product: Product, plan: list[tuple[int, int, Decimal, str]], grace_end_start: bool
) -> None:
    with transaction.atomic():
        if grace_end_start:
            services.grace_policy_create(
                product=product, effective_from=date(2026, 1, 1), penalty_start="grace_end", grace_days=5
            )
        loans = [
            make_loan(principal="6000.00", term=6, method="equal_installment", disbursed_on=date(2026, 1, 31)),
            make_loan(principal="3000.00", term=3, method="interest_first", disbursed_on=date(2026, 1, 31)),
        ]
        end = date(2026, 5, 20)
        by_day: dict[date, list[tuple[int, Decimal, str]]] = {}
        for which, offset, amount, kind in plan:
            by_day.setdefault(date(2026, 2, 1) + timedelta(days=offset), []).append((which, amount, kind))
        posted = 0
        day = date(2026, 1, 31)
        while day <= end:
            for which, amount, kind in by_day.get(day, []):
                try:
                    pay(loans[which], day, str(amount), kind, key=f"p{posted}")
                    posted += 1
                except DomainError:
                    pass  # refused (too large for its kind): nothing written
            nightly.close_days(as_of=day)
            day += timedelta(days=1)
        nightly_state = book_digest()
        assert_book_balances()
        for loan in Loan.objects.all():
            services.loan_replay(loan=loan)
        assert book_digest() == nightly_state
        transaction.set_rollback(True)
