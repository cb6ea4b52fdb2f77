"""The loan engine: allocation, penalty, grace, DPD and buckets. Pure: no database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.lending import engine
from riskdesk.lending.schedule import build_schedule

D = Decimal
RATE = D("0.00045")
BUCKETS = [
    engine.Bucket("M0", 0, 0),
    engine.Bucket("M1", 1, 30),
    engine.Bucket("M2", 31, 60),
    engine.Bucket("M3", 61, 90),
    engine.Bucket("M4", 91, None),
]
JAN31 = date(2026, 1, 31)


def terms(principal: str = "12000.00", method: str = "equal_installment", base: str = "principal") -> engine.LoanTerms:
    return engine.LoanTerms(D(principal), method, JAN31, RATE, D("1.5"), base)


def schedule(
    loan: engine.LoanTerms, term: int = 12, grace_days: int = 3, from_grace_end: bool = False, tolerance: str = "1.00"
) -> list[engine.InstallmentState]:
    lines = build_schedule(
        principal=loan.principal, method=loan.method, term=term, disbursed_on=loan.disbursed_on, daily_rate=RATE
    )
    out = []
    for line in lines:
        grace_end = line.due_date + timedelta(days=grace_days)
        out.append(
            engine.InstallmentState(
                line.seq,
                line.period_start,
                line.due_date,
                grace_end,
                grace_end if from_grace_end else line.due_date,
                D(tolerance),
                line.principal,
                line.interest,
            )
        )
    return out


def pay(id: int, on: date, amount: str, kind: str = "regular") -> engine.PaymentEvent:
    return engine.PaymentEvent(id, on, D(amount), kind)


def run(
    loan: engine.LoanTerms, payments: list[engine.PaymentEvent], through: date, **kw: object
) -> engine.ReplayResult:
    return engine.replay(
        terms=loan,
        installments=schedule(loan, **kw),
        payments=payments,
        buckets=BUCKETS,
        through=through,  # type: ignore[arg-type]
    )


FIRST_DUE = date(2026, 2, 28)  # installment 1: principal 938.71, interest 151.20, grace end Mar 3


def test_penalty_is_waived_when_paid_inside_grace() -> None:
    result = run(terms(), [pay(1, date(2026, 3, 3), "1089.91")], through=date(2026, 3, 10))
    first = result.installments[0]
    assert first.penalty_accrued == D("0.00")
    assert first.pi_settled_on == date(2026, 3, 3)
    assert result.allocations == [engine.AllocationLine(1, 1, D("0.00"), D("151.20"), D("938.71"))]


def test_penalty_after_grace_counts_from_the_due_date() -> None:
    # Paid on Mar 5, two days after the grace end: 5 days x 938.71 x 0.000675 = 3.1682 -> 3.17.
    result = run(terms(), [pay(1, date(2026, 3, 5), "1093.08")], through=date(2026, 3, 10))
    assert result.allocations == [engine.AllocationLine(1, 1, D("3.17"), D("151.20"), D("938.71"))]
    assert result.installments[0].penalty_accrued == D("3.17")
    assert result.penalty_outstanding == D("0.00")


def test_penalty_can_start_at_grace_end_by_policy() -> None:
    # From the grace end (Mar 3) to Mar 5: 2 days x 938.71 x 0.000675 = 1.2673 -> 1.27.
    result = run(terms(), [pay(1, date(2026, 3, 5), "1091.18")], through=date(2026, 3, 10), from_grace_end=True)
    assert result.allocations[0].penalty == D("1.27")


def test_a_partial_payment_inside_grace_does_not_escape_the_penalty() -> None:
    # 500 on Mar 2 (in grace): interest 151.20, principal 348.80; 589.91 principal left.
    # On Mar 10: the 348.80 paid counts 2 days (Feb 28 -> Mar 2), the 589.91 unpaid 10 days:
    # 697.60 + 5899.10 = 6596.70 yuan-days x 0.000675 = 4.4527 -> 4.45.
    result = run(terms(), [pay(1, date(2026, 3, 2), "500.00")], through=date(2026, 3, 10))
    first = result.installments[0]
    assert first.late_base_days == D("697.60")
    assert first.unpaid_principal == D("589.91")
    assert first.penalty_accrued == D("4.45")


def test_penalty_on_principal_and_interest_when_the_product_says_so() -> None:
    # Unpaid 1089.91 for 10 days x 0.000675 = 7.3569 -> 7.36.
    result = run(terms(base="principal_interest"), [], through=date(2026, 3, 10))
    assert result.installments[0].penalty_accrued == D("7.36")


def test_days_past_due_bucket_and_grace_state() -> None:
    in_grace = run(terms(), [], through=date(2026, 3, 2))
    assert (in_grace.day_state.dpd, in_grace.day_state.bucket, in_grace.day_state.in_grace) == (2, "M1", True)
    assert in_grace.installments[0].penalty_accrued == D("0.00")
    overdue = run(terms(), [], through=date(2026, 4, 1))
    assert (overdue.day_state.dpd, overdue.day_state.bucket, overdue.day_state.in_grace) == (32, "M2", False)
    assert overdue.day_state.grace_end == date(2026, 3, 3)
    assert [(c.on, c.from_bucket, c.to_bucket, c.dpd) for c in overdue.bucket_changes] == [
        (date(2026, 3, 1), "M0", "M1", 1),
        (date(2026, 3, 31), "M1", "M2", 31),
    ]


def test_an_unpaid_amount_within_tolerance_is_not_delinquent() -> None:
    result = run(terms(), [pay(1, FIRST_DUE, "1089.00")], through=date(2026, 3, 20))
    assert result.installments[0].unpaid_pi == D("0.91")
    assert result.day_state.dpd == 0
    assert result.overdue_amount(date(2026, 3, 20)) > 0  # still owed, just not delinquent


def test_regular_payment_above_due_plus_next_installment_is_refused() -> None:
    with pytest.raises(engine.PaymentRefused) as refused:
        engine.replay(
            terms=terms(),
            installments=schedule(terms()),
            payments=[pay(1, date(2026, 2, 20), "1089.92")],
            buckets=BUCKETS,
            through=date(2026, 2, 19),
            strict_payment_id=1,
        )
    assert refused.value.code == "exceeds_regular"
    assert "at most 1089.91" in refused.value.message and "prepayment" in refused.value.message


def test_regular_payment_pays_the_next_installment_early() -> None:
    result = run(terms(), [pay(1, date(2026, 2, 20), "1089.91")], through=date(2026, 3, 10))
    assert result.allocations == [engine.AllocationLine(1, 1, D("0.00"), D("151.20"), D("938.71"))]
    assert result.day_state.dpd == 0


def test_prepayment_reduces_principal_and_reamortises_the_same_due_dates() -> None:
    # Mar 15: installment 1 paid on time; then 5000 prepaid inside period 2 (Feb 28 -> Mar 31).
    loan = terms()
    result = run(
        loan,
        [pay(1, FIRST_DUE, "1089.91"), pay(2, date(2026, 3, 15), "5000.00", "prepayment")],
        through=date(2026, 3, 15),
    )
    second = result.installments[1]
    # Interest of period 2 follows the balance: 11061.29 x 15 days + 6061.29 x 16 days, x 0.00045.
    assert second.interest_due == D("118.30")  # 118.3049955
    assert result.allocations[-1] == engine.AllocationLine(2, 2, D("0.00"), D("0.00"), D("5000.00"))
    assert sum(i.principal_due for i in result.installments) == D("12000.00")
    assert result.outstanding_principal == D("6061.29")
    assert [i.due_date for i in result.installments] == [i.due_date for i in schedule(loan)]
    # The remaining installments are smaller than the original 1089.91.
    assert all(i.principal_due - i.principal_paid + i.interest_due < D("600") for i in result.installments[2:])


def test_prepayment_that_repays_everything_must_be_a_payoff() -> None:
    with pytest.raises(engine.PaymentRefused) as refused:
        engine.replay(
            terms=terms(),
            installments=schedule(terms()),
            payments=[pay(1, date(2026, 2, 10), "12000.00", "prepayment")],
            buckets=BUCKETS,
            through=date(2026, 2, 9),
            strict_payment_id=1,
        )
    assert refused.value.code == "prepayment_covers_loan"


def test_payoff_quote_and_payoff_settle_the_loan() -> None:
    loan = terms()
    ledger = engine.LoanLedger(loan, schedule(loan))
    quote = ledger.payoff_quote(date(2026, 2, 10))
    # 10 days of interest on 12000 = 54.00, plus all principal.
    assert quote == {
        "total": D("12054.00"),
        "principal": D("12000.00"),
        "interest": D("54.00"),
        "penalty": D("0.00"),
        "overdue": D("0.00"),
    }
    with pytest.raises(engine.PaymentRefused) as short:
        ledger.apply(pay(1, date(2026, 2, 10), "12053.99", "payoff"), strict=True)
    assert short.value.code == "payoff_amount_mismatch" and "12054.00" in short.value.message
    result = run(loan, [pay(1, date(2026, 2, 10), "12054.00", "payoff")], through=date(2026, 2, 10))
    assert result.paid_off_on == date(2026, 2, 10)
    assert result.outstanding_principal == D("0.00")
    assert sum(a.total for a in result.allocations) == D("12054.00")


def test_payoff_of_an_overdue_loan_includes_penalty_and_overdue() -> None:
    loan = terms()
    ledger = engine.LoanLedger(loan, schedule(loan))
    quote = ledger.payoff_quote(date(2026, 3, 10))
    # Overdue: installment 1 (1089.91) + penalty 938.71 x 10 x 0.000675 = 6.34; current period 10 days on 11061.29 = 49.78.
    assert quote["overdue"] == D("1096.25")
    assert quote["penalty"] == D("6.34")
    assert quote["interest"] == D("151.20") + D("49.78")
    assert quote["total"] == D("12000.00") + D("151.20") + D("49.78") + D("6.34")


def test_a_backdated_payment_replays_history() -> None:
    loan = terms()
    late = run(loan, [], through=date(2026, 3, 20))
    assert late.installments[0].penalty_accrued > 0
    backdated = run(loan, [pay(1, date(2026, 3, 2), "1089.91")], through=date(2026, 3, 20))
    assert backdated.installments[0].penalty_accrued == D("0.00")
    assert backdated.day_state.dpd == 0
    assert [(c.on, c.to_bucket) for c in backdated.bucket_changes] == [
        (date(2026, 3, 1), "M1"),
        (date(2026, 3, 2), "M0"),
    ]


def test_a_payment_that_history_makes_too_large_is_kept_unapplied_not_refused() -> None:
    loan = terms("1000.00", "bullet")
    lines = engine.replay(
        terms=loan,
        installments=schedule(loan, term=30),
        payments=[pay(1, date(2026, 2, 10), "1004.50", "payoff"), pay(2, date(2026, 2, 12), "50.00")],
        buckets=BUCKETS,
        through=date(2026, 2, 12),
    )
    assert lines.unapplied == {2: D("50.00")}
    assert lines.paid_off_on == date(2026, 2, 10)


# -- properties ----------------------------------------------------------------------------

kinds = st.sampled_from(["regular", "regular", "regular", "prepayment", "payoff"])


@st.composite
def histories(draw: st.DrawFn) -> tuple[engine.LoanTerms, int, list[engine.PaymentEvent]]:
    method = draw(st.sampled_from(["equal_installment", "equal_principal", "interest_first", "bullet"]))
    principal = draw(st.decimals(min_value=D("500.00"), max_value=D("50000.00"), places=2))
    term = draw(st.integers(30, 90)) if method == "bullet" else draw(st.integers(1, 12))
    loan = engine.LoanTerms(
        principal, method, JAN31, RATE, D("1.5"), draw(st.sampled_from(["principal", "principal_interest"]))
    )
    payments = []
    for pid in range(1, draw(st.integers(0, 8)) + 1):
        on = JAN31 + timedelta(days=draw(st.integers(0, 400)))
        amount = draw(st.decimals(min_value=D("0.01"), max_value=principal, places=2))
        payments.append(engine.PaymentEvent(pid, on, amount, draw(kinds)))
    return loan, term, payments


@settings(max_examples=300, deadline=None)
@given(history=histories(), through_days=st.integers(0, 500))
def test_no_allocation_ever_creates_or_loses_a_cent(
    history: tuple[engine.LoanTerms, int, list[engine.PaymentEvent]], through_days: int
) -> None:
    loan, term, payments = history
    result = engine.replay(
        terms=loan,
        installments=schedule(loan, term=term),
        payments=payments,
        buckets=BUCKETS,
        through=JAN31 + timedelta(days=through_days),
    )
    paid = sum((p.amount for p in payments), D(0))
    allocated = sum((a.total for a in result.allocations), D(0)) + sum(result.unapplied.values(), D(0))
    assert allocated == paid
    assert sum(i.principal_due for i in result.installments) == loan.principal
    for inst in result.installments:
        assert D(0) <= inst.principal_paid <= inst.principal_due
        assert D(0) <= inst.interest_paid <= inst.interest_due
        assert D(0) <= inst.penalty_paid <= inst.penalty_accrued
    by_installment = {i.seq: (i.penalty_paid, i.interest_paid, i.principal_paid) for i in result.installments}
    for inst in result.installments:
        lines = [a for a in result.allocations if a.seq == inst.seq]
        assert (
            sum((a.penalty for a in lines), D(0)),
            sum((a.interest for a in lines), D(0)),
            sum((a.principal for a in lines), D(0)),
        ) == by_installment[inst.seq]
    assert all(a.penalty >= 0 and a.interest >= 0 and a.principal >= 0 for a in result.allocations)


@settings(max_examples=200, deadline=None)
@given(history=histories())
def test_penalty_never_decreases_with_the_date(
    history: tuple[engine.LoanTerms, int, list[engine.PaymentEvent]],
) -> None:
    loan, term, payments = history
    ledger = engine.LoanLedger(loan, schedule(loan, term=term))
    for payment in sorted(payments, key=lambda p: (p.value_date, p.id)):
        ledger.apply(payment, strict=False)
    for inst in ledger.installments:
        days = [inst.due_date + timedelta(days=k) for k in (0, 1, 3, 4, 30, 200)]
        values = [inst.penalty_on(d, loan) for d in days]
        assert values == sorted(values)


def test_a_prepayment_never_reopens_an_installment_paid_early() -> None:
    """Review finding: installment 1 paid early in full, then a prepayment in period 1."""
    loan = terms()
    result = run(
        loan,
        [pay(1, date(2026, 2, 10), "1089.91"), pay(2, date(2026, 2, 15), "3000.00", "prepayment")],
        through=date(2026, 4, 5),
    )
    first = result.installments[0]
    assert (first.unpaid_pi, first.pi_settled_on, first.penalty_accrued) == (D("0.00"), date(2026, 2, 10), D("0.00"))
    assert sum(i.principal_due for i in result.installments) == D("12000.00")
    assert result.outstanding_principal == D("12000.00") - D("938.71") - D("3000.00")
    # Installment 2 (due Mar 31) is the oldest unpaid one on Apr 5.
    assert result.day_state.dpd == 5


def test_a_prepayment_leaves_a_partly_paid_installment_as_it_was() -> None:
    loan = terms()
    result = run(
        loan,
        [pay(1, date(2026, 2, 10), "500.00"), pay(2, date(2026, 2, 15), "3000.00", "prepayment")],
        through=date(2026, 2, 15),
    )
    first = result.installments[0]
    # 500 paid interest 151.20 and principal 348.80; 589.91 principal is still owed on it.
    assert first.unpaid_principal == D("589.91")
    assert result.outstanding_principal == D("12000.00") - D("348.80") - D("3000.00")
    assert sum(a.total for a in result.allocations) == D("3500.00")


def test_a_prepayment_larger_than_the_untouched_balance_pays_down_partly_paid_installments() -> None:
    loan = terms("3000.00", "equal_principal")
    # Installment 1 (1000.00 + 37.80 interest) partly paid early (500 principal); then 2400
    # prepaid: 2000 clears the untouched installments 2-3, the other 400 pays installment 1.
    payments = [pay(1, date(2026, 2, 10), "537.80"), pay(2, date(2026, 2, 15), "2400.00", "prepayment")]
    result = engine.replay(
        terms=loan,
        installments=schedule(loan, term=3),
        payments=payments,
        buckets=BUCKETS,
        through=date(2026, 2, 15),
        strict_payment_id=2,
    )
    assert [i.unpaid_principal for i in result.installments] == [D("100.00"), D("0.00"), D("0.00")]
    assert [i.interest_due for i in result.installments[1:]] == [D("0.00"), D("0.00")]
    assert sum(i.principal_due for i in result.installments) == D("3000.00")
    assert sum(a.total for a in result.allocations) == D("2937.80")
