"""Benchmark collections' close-of-day steps 4-5 and the reminder dispatcher, each against a per-row loop.

    python bench/collections.py --loans 100000 [--sample 2000] [--dispatch 2000]

Needs Postgres (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/riskdesk_bench_collections;
the database is dropped and created). Steps:
  1. migrate and `generate_book --loans N` (closed through the day before AS_OF); every borrower
     gets a phone and the app as contact points (the generated book has none);
  2. close AS_OF in a child process (bench/close_day.py's helper): the wall time of each step,
     4 (collections.cases) and 5 (collections.reminders) among them;
  3. the baselines, in this process, rolled back: step 4 as a plain ORM loop over a sample of
     borrowers (read loans, open/update/route/close the case); step 5 over a sample of loans,
     installment by installment and step by step, get_or_create per reminder;
  4. the dispatcher on the reminders due AS_OF + 1 at 10:00 borrower time (claims in batches,
     sends in the claim's transaction), then the baseline on as many more: one transaction
     per reminder, every lookup its own query; both through the same compliance gate;
then prints the figures and the ratios.
"""

from __future__ import annotations

import os
import sys

# This file shares its name with the standard library's `collections`: run as a script, its
# folder heads the import path and would shadow it, so it goes before anything imports it.
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != os.path.dirname(os.path.realpath(__file__))]

import argparse
import importlib.util
import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo


def _close_day_bench() -> ModuleType:
    """bench/close_day.py, for its book, database and night-in-a-child-process helpers.

    Loaded by path: this script's folder is off the import path (see above).
    """
    spec = importlib.util.spec_from_file_location("bench_close_day", Path(__file__).with_name("close_day.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


close_day = _close_day_bench()
ROOT, AS_OF = close_day.ROOT, close_day.AS_OF
SEND_AT = datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/riskdesk_bench_collections"
STEP_4, STEP_5 = "collections.cases", "collections.reminders"


def add_contact_points() -> int:
    """A phone and the app for every borrower, as registration would have given them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO lending_contactpoint (borrower_id, kind, value, label, verification, status)
            SELECT id, 'phone', '139' || lpad(id::text, 8, '0'), 'mobile', 'verified', 'active' FROM lending_borrower
            UNION ALL
            SELECT id, 'app', 'app:' || id, 'app', 'verified', 'active' FROM lending_borrower
            """
        )
        added = cursor.rowcount
        cursor.execute("ANALYZE lending_contactpoint")
        return added


def plan_baseline(sample: int, seed: int = 7) -> tuple[int, float]:
    """Step 5 for `sample` random active loans, row by row through the ORM; rolled back."""
    from django.db import transaction

    from riskdesk.collections.models import Reminder, ReminderStep
    from riskdesk.lending.models import Loan

    send_on = AS_OF + timedelta(days=1)
    steps = list(ReminderStep.objects.filter(active=True))
    ids = list(Loan.objects.filter(status="active").values_list("id", flat=True))
    chosen = random.Random(seed).sample(ids, min(sample, len(ids)))
    started = time.perf_counter()
    with transaction.atomic():
        for loan_id in chosen:
            loan = Loan.objects.get(pk=loan_id)
            for inst in loan.installments.filter(pi_settled_on__isnull=True):
                unpaid = inst.principal_due + inst.interest_due - inst.principal_paid - inst.interest_paid
                for step in steps:
                    anchor = inst.grace_end if step.anchor == "grace_end" else inst.due_date
                    past_due = step.anchor == "grace_end" or step.offset_days > 0
                    if anchor + timedelta(days=step.offset_days) != send_on:
                        continue
                    if unpaid > (inst.arrears_tolerance if past_due else 0):
                        Reminder.objects.get_or_create(
                            installment=inst,
                            step=step,
                            defaults={"loan": loan, "borrower_id": loan.borrower_id, "planned_for": send_on},
                        )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return len(chosen), elapsed


def cases_baseline(sample: int, seed: int = 7) -> tuple[int, float]:
    """Step 4 for `sample` random borrowers, row by row through the ORM; rolled back.

    For each borrower: read their loans, decide whether a case is due (overdue past grace
    end), open or update it with its stage, amounts and loans, route it by walking the
    routing rules in Python, or close it when nothing is overdue any more.
    """
    from decimal import Decimal

    from django.db import transaction

    from riskdesk.collections.cases import STAGE_BY_MAX_DPD
    from riskdesk.collections.models import Case, RoutingRule, Stage
    from riskdesk.lending.models import Borrower, Loan

    rules = list(RoutingRule.objects.filter(active=True).select_related("queue"))
    ids = list(Borrower.objects.values_list("id", flat=True))
    chosen = random.Random(seed).sample(ids, min(sample, len(ids)))
    started = time.perf_counter()
    with transaction.atomic():
        for borrower_id in chosen:
            borrower = Borrower.objects.get(pk=borrower_id)
            loans = list(Loan.objects.filter(borrower=borrower, status="active"))
            overdue = [x for x in loans if x.dpd > 0 and not x.in_grace and x.grace_end and x.grace_end < AS_OF]
            case = Case.objects.filter(borrower=borrower, status="open").first()
            if not overdue:
                if case is not None:
                    case.status, case.closed_on, case.close_reason = "closed", AS_OF, "cured"
                    case.save()
                continue
            worst = max(overdue, key=lambda x: x.dpd)
            stage = next((s for limit, s in STAGE_BY_MAX_DPD if worst.dpd <= limit), Stage.WRITE_OFF_REVIEW)
            amount = sum((x.overdue_amount for x in overdue), Decimal("0.00"))
            if case is None:
                case = Case(borrower=borrower, opened_on=AS_OF)
            case.stage, case.worst_bucket, case.max_dpd, case.overdue_amount = stage, worst.bucket, worst.dpd, amount
            case.expected_loss = case.priority = (amount * Decimal("0.10")).quantize(Decimal("0.01"))
            case.updated_on = AS_OF
            for rule in rules:
                if (not rule.stage or rule.stage == stage) and (
                    not rule.language or rule.language == borrower.language
                ):
                    case.queue = rule.queue
                    break
            case.save()
            case.loans.add(*overdue)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return len(chosen), elapsed


def dispatch_batched(count: int) -> tuple[dict[str, int], float]:
    from riskdesk.collections.reminders import reminders_dispatch

    started = time.perf_counter()
    counts = reminders_dispatch(now=SEND_AT, limit=count)
    return counts, time.perf_counter() - started


def dispatch_baseline(count: int) -> tuple[dict[str, int], float]:
    """The same work one reminder per transaction, each lookup its own query, nothing shared."""
    from collections import Counter

    from django.db import transaction

    from riskdesk.collections import contact, gate, lint
    from riskdesk.collections.channels import adapter_for
    from riskdesk.collections.models import Case, MessageTemplate, Reminder
    from riskdesk.lending.models import ContactPoint

    kinds = {"sms": "phone", "push": "app", "email": "email"}
    ids = list(Reminder.objects.filter(status="planned").order_by("id").values_list("id", flat=True)[:count])
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for reminder_id in ids:
        with transaction.atomic():
            reminder = Reminder.objects.select_for_update().get(pk=reminder_id)
            borrower, inst, step = reminder.borrower, reminder.installment, reminder.step
            case = Case.objects.filter(borrower=borrower, status="open").first()
            status = "blocked"
            for channel in step.channels:
                point = ContactPoint.objects.filter(
                    borrower=borrower, kind=kinds.get(channel, ""), status="active"
                ).first()
                template = MessageTemplate.objects.filter(
                    code=step.template_code, language=borrower.language, channel=channel, status="approved"
                ).first()
                if template is None or (point is None and channel != "letter"):
                    continue
                decision = gate.contact_check(
                    case=case,
                    borrower=borrower,
                    channel=channel,
                    at=SEND_AT,
                    contact_point=point,
                    template_id=template.pk,
                )
                outcome = "sent" if decision.allowed else "blocked"
                attempt = contact.contact_attempt_record_decision(
                    decision=decision,
                    case=case,
                    borrower=borrower,
                    channel=channel,
                    at=SEND_AT,
                    outcome=outcome,
                    source="reminder",
                    contact_point=point,
                    template=template,
                )
                if decision.allowed:
                    unpaid = inst.principal_due + inst.interest_due - inst.principal_paid - inst.interest_paid
                    context = {"name": borrower.name, "amount": unpaid, "due_date": inst.due_date, "loan": inst.loan_id}
                    subject, body = lint.template_render(template=template, context={**context, "grace_end": ""})
                    adapter_for(channel).send(
                        to=point.value if point else "", subject=subject, body=body, reminder=reminder
                    )
                    reminder.channel, reminder.sent_at, reminder.attempt, status = channel, SEND_AT, attempt, "sent"
                    break
            reminder.status = status
            reminder.save()
            counts[status] += 1
    return dict(counts), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2000, help="loans in the planning baseline")
    parser.add_argument("--dispatch", type=int, default=2000, help="reminders per dispatcher run")
    args = parser.parse_args()

    url, env = close_day.bench_environment(DEFAULT_URL, AS_OF + timedelta(days=1))
    close_day.recreate_database(url)
    close_day.manage("migrate", "--verbosity", "0", env=env)
    started = time.perf_counter()
    close_day.manage(
        "generate_book", "--loans", str(args.loans), "--as-of", AS_OF.isoformat(), "--verbosity", "0", env=env
    )
    print(f"generate_book --loans {args.loans}: {time.perf_counter() - started:.1f} s")

    import django

    django.setup()
    print(f"contact points added: {add_contact_points()}")
    night = close_day.close_in_child(env)
    print(f"night {AS_OF} closed in {night['seconds']:.2f} s:")
    for step, run in night["runs"].items():
        print(f"  {step:<24} {run['ms']:>7} ms  {run['rows']}")
    from riskdesk.lending.models import Borrower

    borrowers = Borrower.objects.count()
    cases_ms = night["runs"][STEP_4]["ms"]
    per_borrower_set = cases_ms / 1000 / borrowers
    sampled, cases_loop = cases_baseline(args.sample)
    per_borrower_loop = cases_loop / sampled
    print(f"step 4 set-based: {cases_ms} ms for {borrowers} borrowers, {per_borrower_set * 1e6:.2f} us/borrower")
    print(
        f"step 4 ORM loop baseline: {sampled} borrowers in {cases_loop:.2f} s, "
        f"{per_borrower_loop * 1e6:.0f} us/borrower"
    )
    print(f"step 4 ratio per borrower (loop / set-based): {per_borrower_loop / per_borrower_set:.0f}x")
    plan_ms = night["runs"][STEP_5]["ms"]
    per_loan_set = plan_ms / 1000 / args.loans
    sampled, plan_loop = plan_baseline(args.sample)
    per_loan_loop = plan_loop / sampled
    print(f"step 5 set-based: {plan_ms} ms for {args.loans} loans, {per_loan_set * 1e6:.2f} us/loan")
    print(f"step 5 ORM loop baseline: {sampled} loans in {plan_loop:.2f} s, {per_loan_loop * 1e6:.0f} us/loan")
    print(f"step 5 ratio per loan (loop / set-based): {per_loan_loop / per_loan_set:.0f}x")

    batched, batched_s = dispatch_batched(args.dispatch)
    looped, looped_s = dispatch_baseline(args.dispatch)
    checked_b, checked_l = sum(batched.values()), sum(looped.values())
    print(
        f"dispatcher: {checked_b} reminders checked in {batched_s:.2f} s -> {checked_b / batched_s:.0f}/s checked, "
        f"{batched.get('sent', 0) / batched_s:.0f}/s sent {batched}"
    )
    print(
        f"per-reminder loop: {checked_l} checked in {looped_s:.2f} s -> {checked_l / looped_s:.0f}/s checked, "
        f"{looped.get('sent', 0) / looped_s:.0f}/s sent {looped}"
    )
    print(f"dispatch ratio (reminders/s, dispatcher / loop): {(checked_b / batched_s) / (checked_l / looped_s):.2f}x")


if __name__ == "__main__":
    main()
