"""audit_book: a clean book passes; each rule is caught when exactly one stored thing is corrupted."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from riskdesk import nightly
from riskdesk.core.models import ClosedDay, JobRun
from riskdesk.lending import services
from riskdesk.lending.conservation import AUDIT_BOOK_STEP_NAME, audit_book
from riskdesk.lending.models import Allocation, Loan, Payment

D = Decimal
pytestmark = pytest.mark.django_db
CLOSED = date(2026, 3, 10)


def assert_book_balances() -> None:
    """The whole book passes every conservation rule (lending/conservation.py)."""
    report = audit_book()
    assert report.clean, report.as_text()


def audit(*args: str) -> tuple[int, dict[str, Any]]:
    """Run `manage.py audit_book --json`; return its exit code and report."""
    out = io.StringIO()
    try:
        call_command("audit_book", "--json", *args, stdout=out)
        code = 0
    except CommandError as error:
        code = error.returncode
    return code, json.loads(out.getvalue())


def pay(loan: Loan, on: date, amount: str, kind: str = "regular") -> Payment:
    return services.payment_post(
        loan=loan, amount=D(amount), value_date=on, kind=kind, channel="app", idempotency_key=f"{loan.pk}-{on}-{amount}"
    )[0]


@pytest.fixture
def book(make_loan: Callable[..., Loan]) -> dict[str, Loan]:
    """An overdue loan with penalty and a part payment, a paid-off loan, a loan with a reversed payment."""
    overdue = make_loan()
    paid_off = make_loan(principal="3000.00", term=3, method="equal_principal", disbursed_on=date(2026, 1, 31))
    reversed_ = make_loan(principal="2000.00", term=3, method="interest_first", disbursed_on=date(2026, 1, 31))
    pay(overdue, date(2026, 2, 28), "500.00")
    pay(paid_off, date(2026, 2, 20), "500.00")
    bounced = pay(reversed_, date(2026, 2, 27), "25.20")
    services.payment_reverse(payment=bounced, reason="bounced")
    # Nothing falls due before Feb 28: the nights before it change nothing, so the book starts closing there.
    ClosedDay.objects.create(business_date=date(2026, 2, 26))
    nightly.close_days(as_of=CLOSED)
    quote = services.loan_ledger(paid_off).payoff_quote(date(2026, 3, 11))["total"]
    pay(paid_off, date(2026, 3, 11), str(quote), kind="payoff")
    for loan in (overdue, paid_off, reversed_):
        loan.refresh_from_db()
    return {"overdue": overdue, "paid_off": paid_off, "reversed": reversed_}


def test_a_clean_book_passes_with_exit_code_zero(book: dict[str, Loan]) -> None:
    assert book["paid_off"].status == Loan.Status.PAID_OFF
    assert book["overdue"].penalty_accrued > 0 and book["overdue"].overdue_amount > 0
    assert Payment.objects.filter(status=Payment.Status.REVERSED).count() == 1
    code, report = audit()
    assert (code, report["clean"], report["rules"], report["loans"]) == (0, True, {}, 3)
    assert report["as_of"] == CLOSED.isoformat()
    out = io.StringIO()
    call_command("audit_book", stdout=out)
    assert "every rule holds" in out.getvalue()


def _one(model: type, **filters: Any) -> int | None:
    return model.objects.filter(**filters).order_by("pk").values_list("pk", flat=True).first()


CORRUPTIONS: dict[str, tuple[str, str]] = {
    # rule: (the loan corrupted, one raw UPDATE; {loan}, {payment}, {allocation} are row ids)
    "payments_allocated": ("overdue", "UPDATE lending_payment SET unapplied = 5.00 WHERE id = {payment}"),
    "allocations_match_installments": (
        "overdue",
        "UPDATE lending_allocation SET seq = seq + 1 WHERE id = {allocation}",
    ),
    "schedule_principal": ("overdue", "UPDATE lending_loan SET principal = principal + 100 WHERE id = {loan}"),
    "outstanding_principal": (
        "overdue",
        "UPDATE lending_loan SET outstanding_principal = outstanding_principal - 0.01 WHERE id = {loan}",
    ),
    "penalty_accrued": (
        "overdue",
        "UPDATE lending_loan SET penalty_accrued = penalty_accrued + 0.01 WHERE id = {loan}",
    ),
    "overdue_amount": ("overdue", "UPDATE lending_loan SET overdue_amount = overdue_amount - 1 WHERE id = {loan}"),
    "next_due_date": ("reversed", "UPDATE lending_loan SET next_due_date = NULL WHERE id = {loan}"),
    "status": ("reversed", "UPDATE lending_loan SET status = 'paid_off' WHERE id = {loan}"),
}


def test_each_rule_catches_one_corrupted_row(book: dict[str, Loan]) -> None:
    for rule, (which, sql) in CORRUPTIONS.items():
        loan = book[which]
        ids = {
            "loan": loan.pk,
            "payment": _one(Payment, loan=loan, status="posted"),
            "allocation": _one(Allocation, loan=loan),
        }
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql.format(**ids))
                assert cursor.rowcount == 1, rule
            code, report = audit()
            transaction.set_rollback(True)
        # Moving an allocation to the next installment breaks both: the one it left and the one it reached.
        rows = 2 if rule == "allocations_match_installments" else 1
        assert (code, report["rules"][rule]["count"]) == (1, rows), rule
        assert [b["loan"] for b in report["rules"][rule]["first"]] == [loan.pk] * rows, rule
        assert report["rules"][rule]["rule"]
    assert audit()[0] == 0


def test_paid_above_due_is_caught_where_the_constraint_was_bypassed(book: dict[str, Loan]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite cannot drop a CHECK constraint")
    loan = book["overdue"]
    first = loan.installments.get(seq=1)
    with connection.cursor() as cursor:
        # The constraint holds paid <= due in the database; a restore or a hand edit can lose it.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE lending_installment DROP CONSTRAINT installment_paid_within_due")
        cursor.execute("UPDATE lending_installment SET interest_due = interest_paid - 0.01 WHERE id = %s", [first.pk])
    code, report = audit()
    assert code == 1
    assert report["rules"]["paid_within_due"]["first"] == [{"loan": loan.pk, "installments": 1, "first_seq": 1}]


def test_a_reversed_payment_that_kept_its_allocation_is_caught(book: dict[str, Loan]) -> None:
    loan = book["overdue"]
    payment = Payment.objects.get(loan=loan)
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.REVERSED)
    code, report = audit()
    assert code == 1
    assert report["rules"]["payments_allocated"]["first"] == [
        {
            "loan": loan.pk,
            "payment": payment.pk,
            "status": "reversed",
            "amount": "500.00",
            "allocated": "500.00",
            "unapplied": "0.00",
        }
    ]
    # The installments keep money no posted payment gave them.
    assert report["rules"]["allocations_match_installments"]["count"] >= 1


def test_the_text_report_names_the_rule_the_loan_and_the_amounts(book: dict[str, Loan]) -> None:
    loan = book["overdue"]
    Loan.objects.filter(pk=loan.pk).update(outstanding_principal=loan.outstanding_principal - D("0.01"))
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("audit_book", stdout=out)
    assert failed.value.returncode == 1
    text = out.getvalue()
    assert "outstanding_principal" in text
    assert f"loan {loan.pk}: stored {loan.outstanding_principal - D('0.01')}, installments" in text


def test_a_breach_fails_the_nights_last_step_and_a_rerun_after_the_fix_closes_the_day(
    book: dict[str, Loan],
) -> None:
    loan = book["overdue"]
    nightly.close_days(as_of=date(2026, 3, 11))  # the payoff was value-dated then: the night replays it
    Loan.objects.filter(pk=loan.pk).update(principal=loan.principal + 1)
    with pytest.raises(Exception, match="schedule_principal") as failed:
        nightly.close_days(as_of=date(2026, 3, 12))
    assert type(failed.value).__name__ == "BookOutOfBalance"
    run = JobRun.objects.get(step=AUDIT_BOOK_STEP_NAME, business_date=date(2026, 3, 12))
    assert run.status == JobRun.Status.FAILED
    assert "schedule_principal" in run.error and f"loan {loan.pk}: principal 12001.00, scheduled 12000.00" in run.error
    assert not ClosedDay.objects.filter(business_date=date(2026, 3, 12)).exists()
    # Every step before it is done: the audit is last, and only the day's closing waits for it.
    assert set(JobRun.objects.filter(business_date=date(2026, 3, 12)).values_list("step", "status")) == {
        (step.name, "failed" if step.name == AUDIT_BOOK_STEP_NAME else "done") for step in nightly.STEPS
    }
    Loan.objects.filter(pk=loan.pk).update(principal=loan.principal)
    assert nightly.close_days(as_of=date(2026, 3, 12)) == [date(2026, 3, 12)]
    run.refresh_from_db()
    assert (run.status, run.error, run.rows["book_breaches"], run.attempts) == ("done", "", 0, 2)
    assert_book_balances()
