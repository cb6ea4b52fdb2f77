"""Reminder planning: close of day step 5 plans, for day D, the reminders of D+1."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from riskdesk.collections import lint
from riskdesk.collections.models import MessageTemplate, Reminder, ReminderStep
from riskdesk.collections.reminders import REMINDERS_STEP, reminders_plan
from riskdesk.core.jobs import step_run
from riskdesk.lending import services
from riskdesk.lending.models import Installment, Loan

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan(make_loan: Callable[..., Loan]) -> Loan:
    """Three monthly installments due 2026-11-26, 2026-12-26 and 2027-01-26 (grace ends +3 days)."""
    return make_loan(principal="3000.00", term=3, disbursed_on=date(2026, 10, 26))


def planned() -> set[tuple[int, str, date]]:
    return set(Reminder.objects.values_list("installment__seq", "step__code", "planned_for"))


def test_t_minus_3_push_is_planned_for_the_day_after_the_closed_day(loan: Loan) -> None:
    counts = reminders_plan(date(2026, 11, 22))

    assert counts == {"reminders_planned": 1}
    assert planned() == {(1, "t-3-push", date(2026, 11, 23))}
    reminder = Reminder.objects.get()
    assert (reminder.loan_id, reminder.borrower_id, reminder.status) == (loan.pk, loan.borrower_id, "planned")


@pytest.mark.parametrize(
    ("closing", "expected"),
    [
        (date(2026, 11, 23), set()),
        (date(2026, 11, 24), {(1, "t-1-sms")}),
        (date(2026, 11, 25), {(1, "due-sms"), (1, "due-push")}),
        (date(2026, 11, 26), {(1, "d+1")}),
        (date(2026, 11, 28), {(1, "grace-last-sms"), (1, "d+3")}),
        (date(2026, 12, 2), {(1, "d+7")}),
        (date(2026, 12, 10), {(1, "d+15")}),
        (date(2026, 12, 18), {(1, "bureau-notice")}),
        (date(2026, 12, 25), {(1, "d+30"), (2, "due-sms"), (2, "due-push")}),
    ],
)
def test_each_rung_is_planned_on_its_own_date(loan: Loan, closing: date, expected: set[tuple[int, str]]) -> None:
    reminders_plan(closing)

    assert {(seq, code) for seq, code, _ in planned()} == expected
    assert {on for _, _, on in planned()} <= {date.fromordinal(closing.toordinal() + 1)}


def test_a_paid_installment_gets_no_reminder(loan: Loan) -> None:
    first = loan.installments.get(seq=1)
    services.payment_post(
        loan=loan,
        amount=first.principal_due + first.interest_due,
        value_date=date(2026, 11, 20),
        kind="regular",
        channel="app",
        idempotency_key="pay-1",
    )

    assert reminders_plan(date(2026, 11, 22)) == {"reminders_planned": 0}
    assert planned() == set()


def _leave_unpaid(loan: Loan, amount: str) -> None:
    first = loan.installments.get(seq=1)
    Installment.objects.filter(pk=first.pk).update(
        principal_paid=first.principal_due, interest_paid=first.interest_due - Decimal(amount)
    )


def test_a_shortfall_within_the_tolerance_is_not_chased_after_the_due_date(loan: Loan) -> None:
    _leave_unpaid(loan, "0.50")  # the default grace policy tolerates 1.00

    assert reminders_plan(date(2026, 11, 26)) == {"reminders_planned": 0}


def test_any_unpaid_amount_gets_the_pre_due_reminder(loan: Loan) -> None:
    _leave_unpaid(loan, "0.50")

    reminders_plan(date(2026, 11, 22))

    assert planned() == {(1, "t-3-push", date(2026, 11, 23))}


def test_a_loan_no_longer_active_gets_no_reminder(loan: Loan) -> None:
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.WRITTEN_OFF)

    assert reminders_plan(date(2026, 11, 22)) == {"reminders_planned": 0}


def test_rerunning_the_plan_adds_no_duplicate(loan: Loan) -> None:
    reminders_plan(date(2026, 11, 28))

    assert reminders_plan(date(2026, 11, 28)) == {"reminders_planned": 0}
    assert Reminder.objects.count() == 2


def test_the_plan_is_a_recorded_close_of_day_step(loan: Loan) -> None:
    run = step_run(REMINDERS_STEP, date(2026, 11, 25))

    assert (run.step, run.status, run.rows) == ("collections.reminders", "done", {"reminders_planned": 2})
    assert step_run(REMINDERS_STEP, date(2026, 11, 25)).pk == run.pk
    assert Reminder.objects.count() == 2


def test_the_default_ladder() -> None:
    ladder = list(ReminderStep.objects.values_list("code", "anchor", "offset_days", "channels", "kind"))

    assert sorted(ladder, key=lambda rung: (rung[1], rung[2], rung[0])) == [
        ("t-3-push", "due_date", -3, ["push"], "reminder"),
        ("t-1-sms", "due_date", -1, ["sms"], "reminder"),
        ("due-push", "due_date", 0, ["push"], "reminder"),
        ("due-sms", "due_date", 0, ["sms"], "reminder"),
        ("d+1", "due_date", 1, ["sms", "push", "email"], "reminder"),
        ("d+3", "due_date", 3, ["sms", "push", "email"], "reminder"),
        ("d+7", "due_date", 7, ["sms", "push", "email"], "reminder"),
        ("d+15", "due_date", 15, ["sms", "push", "email"], "reminder"),
        ("bureau-notice", "due_date", 23, ["letter", "email", "sms"], "bureau_notice"),
        ("d+30", "due_date", 30, ["sms", "push", "email"], "reminder"),
        ("grace-last-sms", "grace_end", 0, ["sms"], "reminder"),
    ]


def test_every_rung_has_an_approved_template_per_channel_and_language() -> None:
    approved = set(MessageTemplate.objects.filter(status="approved").values_list("code", "channel", "language"))

    for step in ReminderStep.objects.all():
        for channel in step.channels:
            assert {(step.template_code, channel, "zh-hans"), (step.template_code, channel, "en")} <= approved


def test_the_default_templates_are_lint_clean() -> None:
    for template in MessageTemplate.objects.filter(code__in=ReminderStep.objects.values("template_code")):
        findings = lint.template_lint(
            body=template.body, subject=template.subject, audience=template.audience, language=template.language
        )
        assert findings == [], (template.code, template.language, findings)
