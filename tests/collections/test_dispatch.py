"""The reminder dispatcher: through the gate, channel fallback, and each reminder sent exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Count

from riskdesk.collections.channels import EmailAdapter, LetterAdapter, PushGateway, SmsGateway
from riskdesk.collections.models import ContactAttempt, ContactRestriction, OutboxMessage, Reminder, ReminderStep
from riskdesk.collections.reminders import reminders_dispatch, reminders_plan
from riskdesk.core.models import AuditLog
from riskdesk.lending.models import ContactPoint, Installment, Loan
from tests.conftest import TODAY, run_concurrently

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def loan(make_loan: Callable[..., Loan]) -> Loan:
    """Installments due 2026-11-26, 2026-12-26 and 2027-01-26; the borrower has a phone, an email and the app."""
    return make_loan(principal="3000.00", term=3, disbursed_on=date(2026, 10, 26))


@pytest.fixture
def overdue_reminder(loan: Loan, settings: Any) -> Reminder:
    """The D+1 reminder (SMS, then push, then email), due on 2026-11-27."""
    settings.BUSINESS_DATE_OVERRIDE = "2026-11-27"
    reminders_plan(date(2026, 11, 26))
    return Reminder.objects.get()


def sent_outbox() -> list[tuple[str, str]]:
    return list(OutboxMessage.objects.order_by("id").values_list("channel", "to"))


def every_pair(loan: Loan) -> list[Reminder]:
    """A reminder for every (installment, step) of the loan, all due today: a big batch for one borrower."""
    return Reminder.objects.bulk_create(
        Reminder(installment=i, step=s, loan=loan, borrower_id=loan.borrower_id, planned_for=TODAY)
        for i in Installment.objects.filter(loan=loan)
        for s in ReminderStep.objects.exclude(offset_days__lt=0)
    )


def assert_each_sent_once(reminders: list[Reminder]) -> None:
    per_reminder = dict(
        OutboxMessage.objects.values_list("reminder").annotate(n=Count("id")).values_list("reminder", "n")
    )
    assert per_reminder == {r.pk: 1 for r in reminders}
    assert set(Reminder.objects.values_list("status", flat=True)) == {"sent"}


# -- through the gate -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_due_reminder_is_sent_on_its_channel_with_its_attempt(loan: Loan) -> None:
    reminders_plan(date(2026, 11, 22))  # the T-3 push

    assert reminders_dispatch(now=MORNING) == {"sent": 1}

    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.channel, reminder.sent_at, reminder.tries) == ("sent", "push", MORNING, 1)
    assert sent_outbox() == [("push", f"app:{loan.borrower_id}")]
    body = OutboxMessage.objects.get().body
    assert "2026-11-26" in body and "张三" in body
    attempt = reminder.attempt
    assert (attempt.allowed, attempt.outcome, attempt.source, attempt.channel) == (True, "sent", "reminder", "push")
    assert attempt.template.code == "reminder-upcoming"


@pytest.mark.django_db
def test_a_reminder_planned_for_tomorrow_waits(loan: Loan) -> None:
    reminders_plan(date(2026, 11, 23))  # nothing on 11-24
    reminders_plan(date(2026, 11, 24))  # the T-1 SMS, for 11-25

    assert reminders_dispatch(now=MORNING) == {}
    assert Reminder.objects.get().status == "planned"


@pytest.mark.django_db
def test_quiet_hours_hold_the_reminder_until_they_end(loan: Loan) -> None:
    reminders_plan(date(2026, 11, 22))
    late_evening = datetime(2026, 11, 23, 22, 30, tzinfo=SHANGHAI)

    assert reminders_dispatch(now=late_evening) == {"deferred": 1}

    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.next_try_at) == ("blocked", datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI))
    assert reminder.detail == "push: quiet_hours"
    blocked = ContactAttempt.objects.get()
    assert (blocked.allowed, blocked.rule, blocked.outcome) == (False, "quiet_hours", "blocked")
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_a_held_reminder_goes_out_when_the_gate_reopens(loan: Loan) -> None:
    reminders_plan(date(2026, 11, 22))
    reminders_dispatch(now=datetime(2026, 11, 23, 22, 30, tzinfo=SHANGHAI))

    assert reminders_dispatch(now=datetime(2026, 11, 24, 7, 59, tzinfo=SHANGHAI)) == {}
    assert reminders_dispatch(now=datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI)) == {"sent": 1}
    assert sent_outbox() == [("push", f"app:{loan.borrower_id}")]


@pytest.mark.django_db
def test_a_dead_phone_falls_back_to_push(overdue_reminder: Reminder) -> None:
    ContactPoint.objects.filter(kind="phone").update(status="disconnected")

    assert reminders_dispatch(now=datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)) == {"sent": 1}

    overdue_reminder.refresh_from_db()
    assert overdue_reminder.channel == "push"
    assert sent_outbox() == [("push", f"app:{overdue_reminder.borrower_id}")]


@pytest.mark.django_db
def test_an_sms_opt_out_is_recorded_and_falls_back_to_push(overdue_reminder: Reminder) -> None:
    ContactRestriction.objects.create(
        borrower_id=overdue_reminder.borrower_id, kind="opt_out", channel="sms", starts_at=MORNING
    )

    reminders_dispatch(now=datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI))

    attempts = list(ContactAttempt.objects.order_by("id").values_list("channel", "allowed", "rule"))
    assert attempts == [("sms", False, "opt_out"), ("push", True, "")]
    assert sent_outbox() == [("push", f"app:{overdue_reminder.borrower_id}")]


@pytest.mark.django_db
def test_every_channel_refused_blocks_for_good_with_the_reasons(overdue_reminder: Reminder) -> None:
    for channel in ("sms", "email"):
        ContactRestriction.objects.create(
            borrower_id=overdue_reminder.borrower_id, kind="opt_out", channel=channel, starts_at=MORNING
        )
    ContactPoint.objects.filter(kind="app").update(status="wrong_number")

    assert reminders_dispatch(now=datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)) == {"blocked": 1}

    overdue_reminder.refresh_from_db()
    assert (overdue_reminder.status, overdue_reminder.next_try_at) == ("blocked", None)
    assert overdue_reminder.detail == "sms: opt_out; push: no active contact point; email: opt_out"
    assert OutboxMessage.objects.count() == 0
    assert AuditLog.objects.filter(action="contact.blocked").count() == 2


@pytest.mark.django_db
def test_a_cease_request_stops_every_channel(overdue_reminder: Reminder) -> None:
    ContactRestriction.objects.create(borrower_id=overdue_reminder.borrower_id, kind="cease", starts_at=MORNING)

    reminders_dispatch(now=datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI))

    overdue_reminder.refresh_from_db()
    assert (overdue_reminder.status, overdue_reminder.next_try_at, overdue_reminder.detail) == (
        "blocked",
        None,
        "sms: cease",
    )
    assert list(ContactAttempt.objects.values_list("channel", "rule")) == [("sms", "cease")]


@pytest.mark.django_db
def test_a_reminder_whose_installment_was_paid_meanwhile_is_skipped(overdue_reminder: Reminder) -> None:
    installment = overdue_reminder.installment
    Installment.objects.filter(pk=installment.pk).update(
        principal_paid=installment.principal_due, interest_paid=installment.interest_due - Decimal("0.40")
    )

    assert reminders_dispatch(now=datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)) == {"skipped": 1}
    assert Reminder.objects.get().detail == "installment paid"
    assert ContactAttempt.objects.count() == 0


@pytest.mark.django_db
def test_a_reminder_whose_day_passed_long_ago_is_skipped_as_stale(overdue_reminder: Reminder, settings: Any) -> None:
    # Planned for 2026-11-27; the dispatcher was down until the 29th.
    settings.BUSINESS_DATE_OVERRIDE = "2026-11-29"

    assert reminders_dispatch(now=datetime(2026, 11, 29, 10, 0, tzinfo=SHANGHAI)) == {"skipped": 1}

    overdue_reminder.refresh_from_db()
    assert (overdue_reminder.status, overdue_reminder.detail) == ("skipped", "stale: planned for 2026-11-27")
    assert sent_outbox() == []


@pytest.mark.django_db
def test_a_reminder_held_overnight_still_goes_the_next_morning(overdue_reminder: Reminder, settings: Any) -> None:
    settings.BUSINESS_DATE_OVERRIDE = "2026-11-28"

    assert reminders_dispatch(now=datetime(2026, 11, 28, 8, 0, tzinfo=SHANGHAI)) == {"sent": 1}


@pytest.mark.django_db
def test_the_bureau_notice_goes_by_letter_to_the_registered_address(loan: Loan, settings: Any) -> None:
    settings.BUSINESS_DATE_OVERRIDE = "2026-12-19"
    reminders_plan(date(2026, 12, 18))

    reminders_dispatch(now=datetime(2026, 12, 19, 10, 0, tzinfo=SHANGHAI))

    assert sent_outbox() == [("letter", "张三, registered address")]
    assert "征信" in OutboxMessage.objects.get().body


# -- exactly once -----------------------------------------------------------------------


@pytest.mark.django_db
def test_dispatch_run_twice_sends_each_reminder_once(loan: Loan) -> None:
    reminders = every_pair(loan)

    first = reminders_dispatch(now=MORNING)
    second = reminders_dispatch(now=MORNING)

    assert (first, second) == ({"sent": len(reminders)}, {})
    assert_each_sent_once(reminders)


class FailingSms(SmsGateway):
    sends = 0

    def send(self, **message: Any) -> OutboxMessage:
        FailingSms.sends += 1
        if FailingSms.sends == 3:
            raise ConnectionError("gateway fell over")
        return super().send(**message)


@pytest.mark.django_db
def test_a_failing_send_rolls_back_its_batch_and_a_rerun_sends_each_once(loan: Loan, settings: Any) -> None:
    reminders = every_pair(loan)
    settings.RISKDESK_CHANNEL_ADAPTERS = {"sms": f"{__name__}.FailingSms"}
    FailingSms.sends = 0

    with pytest.raises(ConnectionError):
        reminders_dispatch(now=MORNING)
    assert OutboxMessage.objects.count() == 0
    assert set(Reminder.objects.values_list("status", flat=True)) == {"planned"}

    reminders_dispatch(now=MORNING)
    assert_each_sent_once(reminders)


# A worker process dies (os._exit: no cleanup, no rollback by Python) on its Nth send.
def _crash_on_the_nth_send(gateway: type) -> type:
    def send(self: Any, **message: Any) -> OutboxMessage:
        sent = gateway.send(self, **message)
        CrashingSms.sends += 1
        if CrashingSms.sends == int(os.environ["CRASH_ON_SEND"]):
            os._exit(70)
        return sent

    return type(f"Crashing{gateway.__name__}", (gateway,), {"send": send, "sends": 0})


CrashingSms = _crash_on_the_nth_send(SmsGateway)
CrashingPush = _crash_on_the_nth_send(PushGateway)
CrashingEmail = _crash_on_the_nth_send(EmailAdapter)
CrashingLetter = _crash_on_the_nth_send(LetterAdapter)


def dispatch_in_a_worker(**env: str) -> subprocess.CompletedProcess[str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return subprocess.run(
        [sys.executable, "manage.py", "dispatch_reminders", "--now", MORNING.isoformat()],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "BUSINESS_DATE_OVERRIDE": TODAY.isoformat(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_midway_then_restarted_sends_each_reminder_once(loan: Loan) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs a database a second process can share")
    reminders = every_pair(loan)
    crashing = {c: f"{__name__}.Crashing{n}" for c, n in [("sms", "Sms"), ("push", "Push"), ("email", "Email")]}
    crashing["letter"] = f"{__name__}.CrashingLetter"
    killed = dispatch_in_a_worker(RISKDESK_CHANNEL_ADAPTERS=json.dumps(crashing), CRASH_ON_SEND="25")
    assert killed.returncode == 70, killed.stderr
    # The first batch (20) committed; the second died after 5 sends and rolled back.
    assert OutboxMessage.objects.count() == 20

    restarted = dispatch_in_a_worker()
    assert restarted.returncode == 0, restarted.stderr
    assert_each_sent_once(reminders)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatchers_at_once_send_each_reminder_once(loan: Loan) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers: concurrency is a Postgres test")
    reminders = every_pair(loan)

    errors = run_concurrently(lambda _: reminders_dispatch(now=MORNING), 2)

    assert errors == []
    assert_each_sent_once(reminders)


# -- the Celery task ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_task_dispatches_then_relays_queued_email() -> None:
    from riskdesk.collections.tasks import dispatch_reminders

    EmailAdapter().send(to="zhangsan@example.com", subject="s", body="b", reminder=None)

    assert dispatch_reminders.apply().get() == {"emails_relayed": 1}


def test_beat_runs_the_dispatcher_every_five_minutes(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-reminders"]

    assert entry["task"] == "riskdesk.collections.tasks.dispatch_reminders"
    assert entry["schedule"]._orig_minute == "*/5"
