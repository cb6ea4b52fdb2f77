"""Hardship arrangements on the lending book: waiver, re-installment, extension, replayed like payments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskdesk import nightly
from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog
from riskdesk.lending import engine, services
from riskdesk.lending.models import Installment, Loan, LoanArrangement
from riskdesk.lending.schedule import build_schedule
from riskdesk.lending.selectors import book_digest, installment_status, payoff_quote

D = Decimal
APR9, APR10 = date(2026, 4, 9), date(2026, 4, 10)


@pytest.fixture
def overdue_loan(make_loan: Callable[..., Loan], settings: pytest.FixtureRequest) -> Loan:
    """12000.00 over 12 months from Jan 31, nothing paid, days closed through Apr 9; today Apr 10."""
    settings.BUSINESS_DATE_OVERRIDE = APR10.isoformat()
    loan = make_loan()
    nightly.close_days(as_of=APR9)
    loan.refresh_from_db()
    return loan


def arrange(loan: Loan, kind: str, months: int | None = None, on: date = APR10) -> LoanArrangement:
    return services.loan_arrangement_execute(loan=loan, kind=kind, effective_on=on, months=months, reason="job loss")


def pay(loan: Loan, on: date, amount: str, kind: str = "regular", key: str | None = None) -> None:
    services.payment_post(
        loan=loan, amount=D(amount), value_date=on, kind=kind, channel="app", idempotency_key=key or f"{on}-{amount}"
    )


def rows(loan: Loan) -> list[Installment]:
    return list(loan.installments.order_by("seq"))


def close_through(day: date, settings: pytest.FixtureRequest) -> None:
    settings.BUSINESS_DATE_OVERRIDE = (day + timedelta(days=1)).isoformat()
    nightly.close_days(as_of=day)


# -- re-installment ------------------------------------------------------------------------


@pytest.mark.django_db
def test_reinstallment_moves_unpaid_principal_and_due_interest_into_a_new_schedule(overdue_loan: Loan) -> None:
    arrangement = arrange(overdue_loan, "reinstallment", months=6)
    new = [i for i in rows(overdue_loan) if i.arrangement_id == arrangement.pk]
    assert [i.seq for i in new] == [13, 14, 15, 16, 17, 18]
    assert [i.due_date for i in new] == [date(2026, m, 10) for m in (5, 6, 7, 8, 9, 10)]
    assert new[0].period_start == APR10 and new[0].grace_end == date(2026, 5, 13)
    assert sum(i.principal_due for i in new) == D("12000.00")
    assert [i.principal_due for i in new] == [
        D(x) for x in ("1933.56", "1955.13", "1986.06", "2010.11", "2038.15", "2076.99")
    ]
    # 351.07 carried (interest of Feb and Mar unpaid, and Apr 1-10 accrued) + 12000.00 x 0.00045 x 30 = 162.00.
    assert new[0].interest_due == D("513.07")
    assert [i.interest_due for i in new[1:]] == [D("140.43"), D("109.50"), D("85.45"), D("57.41"), D("28.04")]


@pytest.mark.django_db
def test_reinstallment_closes_the_old_installments_at_what_was_paid(overdue_loan: Loan) -> None:
    arrange(overdue_loan, "reinstallment", months=6)
    old = rows(overdue_loan)[:12]
    assert all(i.principal_due == i.principal_paid == 0 and i.interest_due == 0 for i in old)
    assert all(i.superseded_on == APR10 and i.pi_settled_on == APR10 for i in old)
    assert installment_status(old[0], APR10) == "rescheduled"
    overdue_loan.refresh_from_db()
    assert overdue_loan.next_due_date == date(2026, 5, 10)
    assert overdue_loan.outstanding_principal == D("12000.00")
    assert overdue_loan.term == 12


@pytest.mark.django_db
def test_reinstallment_keeps_the_payoff_quote_of_its_day(overdue_loan: Loan) -> None:
    before = payoff_quote(overdue_loan, APR10)
    arrange(overdue_loan, "reinstallment", months=6)
    overdue_loan.refresh_from_db()
    after = payoff_quote(overdue_loan, APR10)
    assert before["total"] == after["total"] == D("12383.37")
    assert after["penalty"] == D("32.30")
    assert after["interest"] == D("351.07")


@pytest.mark.django_db
def test_reinstallment_freezes_the_penalty_of_the_old_installments(
    overdue_loan: Loan, settings: pytest.FixtureRequest
) -> None:
    arrange(overdue_loan, "reinstallment", months=6)
    close_through(date(2026, 5, 9), settings)
    first, second = rows(overdue_loan)[:2]
    # Frozen at Apr 10: 938.71 x 41 days x 0.000675 = 25.98 and 935.61 x 10 days x 0.000675 = 6.32.
    assert (first.penalty_accrued, second.penalty_accrued) == (D("25.98"), D("6.32"))
    overdue_loan.refresh_from_db()
    assert overdue_loan.dpd == 0
    assert overdue_loan.penalty_accrued == D("32.30")


@pytest.mark.django_db
def test_a_payment_after_a_reinstallment_pays_the_frozen_penalty_first(
    overdue_loan: Loan, settings: pytest.FixtureRequest
) -> None:
    arrange(overdue_loan, "reinstallment", months=6)
    settings.BUSINESS_DATE_OVERRIDE = "2026-04-11"
    pay(overdue_loan, date(2026, 4, 11), "100.00")
    first, second = rows(overdue_loan)[:2]
    assert (first.penalty_paid, second.penalty_paid) == (D("25.98"), D("6.32"))
    assert rows(overdue_loan)[12].interest_paid == D("67.70")


@pytest.mark.django_db
def test_a_missed_new_installment_makes_the_loan_delinquent_again(
    overdue_loan: Loan, settings: pytest.FixtureRequest
) -> None:
    arrange(overdue_loan, "reinstallment", months=6)
    close_through(date(2026, 5, 20), settings)
    overdue_loan.refresh_from_db()
    assert (overdue_loan.dpd, overdue_loan.in_grace) == (10, False)
    # 513.07 x 0... penalty on the new installment's principal from May 10: 1933.56 x 10 x 0.000675 = 13.05.
    assert rows(overdue_loan)[12].penalty_accrued == D("13.05")


# -- extension -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_extension_stretches_the_remaining_schedule_by_its_months(overdue_loan: Loan) -> None:
    arrangement = arrange(overdue_loan, "extension", months=3)
    new = [i for i in rows(overdue_loan) if i.arrangement_id == arrangement.pk]
    # Ten installments were not yet due on Apr 10 (Apr 30 .. Jan 31): 10 + 3 = 13.
    assert len(new) == 13
    assert (new[0].due_date, new[-1].due_date) == (date(2026, 5, 10), date(2027, 5, 10))
    assert sum(i.principal_due for i in new) == D("12000.00")


# -- penalty waiver ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_waiver_forgives_the_penalty_to_its_day_and_penalty_accrues_again_after(
    overdue_loan: Loan, settings: pytest.FixtureRequest
) -> None:
    arrange(overdue_loan, "penalty_waiver")
    first = rows(overdue_loan)[0]
    assert (first.penalty_waived, first.penalty_accrued) == (D("25.98"), D("0.00"))
    overdue_loan.refresh_from_db()
    assert overdue_loan.penalty_accrued == D("0.00")
    close_through(date(2026, 4, 12), settings)
    first = rows(overdue_loan)[0]
    # 938.71 x 43 days x 0.000675 = 27.25 exact, less 25.98 forgiven.
    assert first.penalty_accrued == D("1.27")


@pytest.mark.django_db
def test_a_waiver_without_penalty_outstanding_is_refused(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan(disbursed_on=date(2026, 11, 1))
    with pytest.raises(DomainError) as refused:
        arrange(loan, "penalty_waiver", on=date(2026, 11, 23))
    assert refused.value.code == "no_penalty"
    assert not LoanArrangement.objects.exists()


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "months", "code"),
    [
        ("reinstallment", None, "invalid_months"),
        ("extension", 0, "invalid_months"),
        ("reinstallment", 37, "invalid_months"),
        ("penalty_waiver", 3, "invalid_months"),
        ("write_off", None, "invalid_kind"),
    ],
)
def test_an_arrangement_with_bad_terms_is_refused(overdue_loan: Loan, kind: str, months: int | None, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        arrange(overdue_loan, kind, months=months)
    assert refused.value.code == code


@pytest.mark.django_db
def test_an_arrangement_cannot_take_effect_in_the_future_or_in_a_closed_day(overdue_loan: Loan) -> None:
    with pytest.raises(DomainError) as future:
        arrange(overdue_loan, "reinstallment", months=6, on=date(2026, 4, 11))
    with pytest.raises(DomainError) as closed:
        arrange(overdue_loan, "reinstallment", months=6, on=APR9)
    assert (future.value.code, closed.value.code) == ("future_date", "date_in_closed_past")


@pytest.mark.django_db
def test_an_arrangement_on_a_paid_off_loan_is_refused(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan(principal="1000.00", term=1, disbursed_on=date(2026, 11, 1))
    pay(loan, date(2026, 11, 23), str(payoff_quote(loan, date(2026, 11, 23))["total"]), kind="payoff")
    with pytest.raises(DomainError) as refused:
        arrange(loan, "reinstallment", months=3, on=date(2026, 11, 23))
    assert refused.value.code == "loan_not_active"


@pytest.mark.django_db
def test_an_arrangement_writes_an_audit_row_with_the_schedule_before_and_after(overdue_loan: Loan) -> None:
    arrangement = arrange(overdue_loan, "reinstallment", months=6)
    row = AuditLog.objects.get(action="loan.arrangement.reinstallment")
    assert row.entity_id == str(arrangement.pk)
    assert row.before["installments_open"] == 12 and row.after["installments_open"] == 6
    assert D(row.after["principal_due"]) == D("12000.00")
    assert row.reason == "job loss"


# -- replay --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_backdated_payment_before_an_arrangement_replays_to_the_same_result(
    make_loan: Callable[..., Loan], settings: pytest.FixtureRequest
) -> None:
    settings.BUSINESS_DATE_OVERRIDE = APR10.isoformat()
    late = make_loan()
    on_time = make_loan()
    nightly.close_days(as_of=APR9)
    # One loan: the payment is posted first, then the arrangement; the other the other way round.
    pay(on_time, date(2026, 3, 20), "1200.00", key="a")
    arrange(on_time, "reinstallment", months=6)
    arrange(late, "reinstallment", months=6)
    pay(late, date(2026, 3, 20), "1200.00", key="b")

    def state(loan: Loan) -> list[tuple[object, ...]]:
        return list(
            loan.installments.order_by("seq").values_list(
                "seq",
                "due_date",
                "principal_due",
                "interest_due",
                "principal_paid",
                "interest_paid",
                "penalty_accrued",
                "penalty_paid",
                "late_base_days",
                "superseded_on",
            )
        )

    assert state(late) == state(on_time)
    assert sum(i.principal_due for i in rows(late)[12:]) == D("11061.29")


@pytest.mark.django_db
def test_the_night_and_a_replay_agree_after_arrangements(overdue_loan: Loan, settings: pytest.FixtureRequest) -> None:
    arrange(overdue_loan, "penalty_waiver")
    arrange(overdue_loan, "reinstallment", months=4)
    close_through(date(2026, 6, 15), settings)
    pay(overdue_loan, date(2026, 6, 16), "500.00")
    close_through(date(2026, 8, 20), settings)
    nightly_state = book_digest()
    services.loan_replay(loan=overdue_loan)
    assert book_digest() == nightly_state


# -- properties ----------------------------------------------------------------------------

JAN31 = date(2026, 1, 31)
RATE = D("0.00045")


def engine_loan(principal: Decimal, term: int, method: str) -> tuple[engine.LoanTerms, list[engine.InstallmentState]]:
    terms = engine.LoanTerms(principal, method, JAN31, RATE, D("1.5"))
    lines = build_schedule(principal=principal, method=method, term=term, disbursed_on=JAN31, daily_rate=RATE)
    return terms, [
        engine.InstallmentState(
            s.seq,
            s.period_start,
            s.due_date,
            s.due_date + timedelta(days=3),
            s.due_date,
            D("1.00"),
            s.principal,
            s.interest,
        )
        for s in lines
    ]


BUCKETS = [engine.Bucket("M0", 0, 0), engine.Bucket("M1", 1, None)]
arrangement_kinds = st.sampled_from(["reinstallment", "extension", "penalty_waiver"])


@settings(max_examples=150, deadline=None)
@given(
    principal=st.decimals(min_value=D("500.00"), max_value=D("50000.00"), places=2),
    term=st.sampled_from([3, 6, 12]),
    method=st.sampled_from(["equal_installment", "equal_principal", "interest_first"]),
    payments=st.lists(
        st.tuples(st.integers(1, 200), st.decimals(min_value=D("1.00"), max_value=D("3000.00"), places=2)), max_size=4
    ),
    arrangements=st.lists(
        st.tuples(st.integers(1, 300), arrangement_kinds, st.integers(1, 36)), min_size=1, max_size=3
    ),
)
def test_money_is_conserved_by_every_arrangement(
    principal: Decimal,
    term: int,
    method: str,
    payments: list[tuple[int, Decimal]],
    arrangements: list[tuple[int, str, int]],
) -> None:
    """At each arrangement's date, the payoff quote is the same before and after it."""
    terms, schedule = engine_loan(principal, term, method)
    paid = [
        engine.PaymentEvent(k, JAN31 + timedelta(days=day), amount, "regular")
        for k, (day, amount) in enumerate(payments)
    ]
    events = [
        engine.ArrangementEvent(k, JAN31 + timedelta(days=day), kind, None if kind == "penalty_waiver" else months)
        for k, (day, kind, months) in enumerate(arrangements)
    ]
    for event in sorted(events, key=lambda e: (e.effective_on, e.id)):
        earlier = [e for e in events if (e.effective_on, e.id) < (event.effective_on, event.id)]
        on = event.effective_on
        common = {
            "terms": terms,
            "installments": schedule,
            "payments": [p for p in paid if p.value_date <= on],
            "buckets": BUCKETS,
            "through": on,
        }
        before = engine.replay(**common, arrangements=earlier).ledger
        after = engine.replay(**common, arrangements=[*earlier, event]).ledger
        quote_before, quote_after = before.payoff_quote(on), after.payoff_quote(on)
        if event.kind == "penalty_waiver":
            forgiven = before.penalty_forgivable(on)
            assert quote_after["total"] == quote_before["total"] - forgiven
            assert after.penalty_forgivable(on) == 0
            continue
        assert quote_after["total"] == quote_before["total"]
        assert quote_after["principal"] == quote_before["principal"]
        new = [i for i in after.installments if i.arrangement_id == event.id]
        moved = sum((i.unpaid_principal for i in before.installments if i.is_open), D(0))
        assert sum((i.principal_due for i in new), D(0)) == moved
        assert all(i.principal_due >= 0 and i.interest_due >= 0 for i in after.installments)
        assert all(i.unpaid_pi == 0 for i in after.installments if i.superseded_on == on)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    plan=st.lists(
        st.tuples(st.integers(0, 100), st.decimals(min_value=D("10.00"), max_value=D("1500.00"), places=2)), max_size=4
    ),
    arrangement=st.tuples(st.integers(20, 90), arrangement_kinds, st.integers(1, 12)),
)
def test_nightly_and_replay_agree_on_random_histories_with_an_arrangement(
    make_loan: Callable[..., Loan],
    settings: pytest.FixtureRequest,
    plan: list[tuple[int, Decimal]],
    arrangement: tuple[int, str, int],
) -> None:
    with transaction.atomic():
        loan = make_loan(principal="6000.00", term=6)
        by_day: dict[date, list[Decimal]] = {}
        for offset, amount in plan:
            by_day.setdefault(date(2026, 2, 1) + timedelta(days=offset), []).append(amount)
        arranged_on = date(2026, 2, 1) + timedelta(days=arrangement[0])
        day, posted = JAN31, 0
        while day <= date(2026, 6, 30):
            settings.BUSINESS_DATE_OVERRIDE = day.isoformat()
            if day > JAN31:
                nightly.close_days(as_of=day - timedelta(days=1))
            for amount in by_day.get(day, []):
                try:
                    pay(loan, day, str(amount), key=f"p{posted}")
                    posted += 1
                except DomainError:
                    pass
            if day == arranged_on:
                kind, months = arrangement[1], None if arrangement[1] == "penalty_waiver" else arrangement[2]
                try:
                    services.loan_arrangement_execute(loan=loan, kind=kind, effective_on=day, months=months, reason="x")
                except DomainError:
                    pass  # no penalty to waive
            day += timedelta(days=1)
        nightly_state = book_digest()
        services.loan_replay(loan=loan)
        assert book_digest() == nightly_state
        transaction.set_rollback(True)
