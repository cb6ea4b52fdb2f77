"""Reminders: planned by close of day (step 5), sent by the dispatcher through the gate.

Planning (`REMINDERS_STEP`, "collections.reminders"): closing business day D plans what
goes out on D+1. A step with anchor A and offset k fires for an installment whose A date
is D+1-k, so each ladder rung is an index lookup by date, one INSERT ... SELECT per chunk
of loans; the unique (installment, step) constraint with ON CONFLICT DO NOTHING makes a
rerun, or two overlapping plans, add nothing twice.

Dispatch (`reminders_dispatch`): claims due reminders with SKIP LOCKED in small batches;
each reminder asks the gate channel by channel (step order), sends on the first channel
allowed, and records every attempt, allowed or blocked. The adapter's outbox row, the
attempt and the reminder's new status commit in the claim's transaction: a worker killed
midway rolls all of them back, and the next run sends each reminder exactly once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from riskdesk.collections import contact, gate, lint
from riskdesk.collections.channels import adapter_for
from riskdesk.collections.models import Case, Channel, MessageTemplate, Reminder, ReminderStep
from riskdesk.core.audit import audit_record
from riskdesk.core.dates import business_today
from riskdesk.core.jobs import RowCounts, Step, id_ranges
from riskdesk.core.money import quantize_money
from riskdesk.core.sql import date_param, is_postgres
from riskdesk.lending.models import Borrower, ContactPoint, Installment, Loan

STEP_NAME = "collections.reminders"
DISPATCH_BATCH = 20
STALE_AFTER_DAYS = 1
# Rules that refuse one channel or contact point only: the next channel may still go.
CHANNEL_RULES = frozenset(
    {"not_permitted_party", "contact_point_dead", "opt_out", "template_not_approved", "third_party_template"}
)
POINT_KIND = {Channel.SMS: ContactPoint.Kind.PHONE, Channel.PUSH: ContactPoint.Kind.APP, Channel.EMAIL: "email"}


# -- planning (close of day, step 5) ------------------------------------------------------


def reminder_chunks(_: date) -> list[tuple[int, int]]:
    bounds = Loan.objects.filter(status=Loan.Status.ACTIVE).aggregate(lo=Min("id"), hi=Max("id"))
    return id_ranges(bounds["lo"], bounds["hi"], settings.CLOSE_DAY_CHUNK_LOANS)


def reminders_plan_chunk(day: date, lo: int, hi: int) -> RowCounts:
    """Plan the reminders of loans lo..hi that fall on `day` + 1."""
    rungs = _rungs(day + timedelta(days=1))
    if not rungs:
        return {"reminders_planned": 0}
    return {"reminders_planned": _insert_planned(day + timedelta(days=1), rungs, lo, hi)}


def reminders_plan(day: date) -> dict[str, int]:
    """Plan, for every active loan, the reminders to send on the day after closing `day`."""
    planned = sum(reminders_plan_chunk(day, lo, hi)["reminders_planned"] for lo, hi in reminder_chunks(day))
    return {"reminders_planned": planned}


@dataclass(frozen=True)
class Rung:
    step_id: int
    anchor: str
    anchor_date: date
    # After the due date a shortfall within the arrears tolerance is no longer chased.
    past_due: bool


def _rungs(send_on: date) -> list[Rung]:
    return [
        Rung(
            step.pk,
            step.anchor,
            send_on - timedelta(days=step.offset_days),
            step.anchor == ReminderStep.Anchor.GRACE_END or step.offset_days > 0,
        )
        for step in ReminderStep.objects.filter(active=True)
    ]


def _insert_planned(send_on: date, rungs: list[Rung], lo: int, hi: int) -> int:
    d = date_param()
    values = ", ".join(f"(%s, %s, {d}, %s)" for _ in rungs)
    unpaid = "i.principal_due + i.interest_due - i.principal_paid - i.interest_paid"
    sql = f"""
        INSERT INTO collections_reminder (installment_id, step_id, loan_id, borrower_id, planned_for,
                                          status, tries, channel, detail)
        WITH rung(step_id, anchor, anchor_date, past_due) AS (VALUES {values})
        SELECT i.id, rung.step_id, l.id, l.borrower_id, {d}, 'planned', 0, '', ''
        FROM rung
        JOIN lending_installment i
          ON (rung.anchor = 'due_date' AND i.due_date = rung.anchor_date)
          OR (rung.anchor = 'grace_end' AND i.grace_end = rung.anchor_date)
        JOIN lending_loan l ON l.id = i.loan_id
        WHERE i.loan_id BETWEEN %s AND %s AND l.status = 'active' AND i.pi_settled_on IS NULL
          AND {unpaid} > CASE WHEN rung.past_due = 1 THEN i.arrears_tolerance ELSE 0 END
        ON CONFLICT (installment_id, step_id) DO NOTHING
    """
    params: list[object] = [x for r in rungs for x in (r.step_id, r.anchor, r.anchor_date, int(r.past_due))]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, send_on, lo, hi])
        return cursor.rowcount


REMINDERS_STEP = Step(STEP_NAME, reminder_chunks, reminders_plan_chunk)


# -- dispatch -----------------------------------------------------------------------------


@dataclass
class Batch:
    """What a claimed batch needs besides its reminders, loaded once per batch."""

    now: datetime
    today: date
    cases: dict[int, Case]
    points: dict[int, list[ContactPoint]]
    templates: dict[tuple[str, str, str], MessageTemplate | None]  # shared by the run's batches


def reminders_dispatch(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send up to `limit` due reminders; each batch's sends commit with its claim."""
    now = now or timezone.now()
    today = business_today()
    counts: Counter[str] = Counter()
    templates: dict[tuple[str, str, str], MessageTemplate | None] = {}
    while counts.total() < limit:
        with transaction.atomic():
            reminders = _claim(now, today, min(DISPATCH_BATCH, limit - counts.total()))
            if not reminders:
                break
            batch = _load_batch(reminders, now, today, templates)
            for reminder in reminders:
                counts[str(_dispatch_one(reminder, batch))] += 1
    return dict(counts)


def _claim(now: datetime, today: date, size: int) -> list[Reminder]:
    due = Reminder.objects.filter(planned_for__lte=today).filter(
        Q(status=Reminder.Status.PLANNED) | Q(status=Reminder.Status.BLOCKED, next_try_at__lte=now)
    )
    if is_postgres():
        due = due.select_for_update(skip_locked=True)
    # Claim on the reminder table alone (joined, the planner scans the installments of the
    # whole book to lock 20 rows), then load what the batch needs for the claimed ids.
    ids = list(due.order_by("planned_for", "id").values_list("id", flat=True)[:size])
    claimed = Reminder.objects.filter(pk__in=ids).select_related("installment", "step", "loan", "borrower")
    return list(claimed.order_by("planned_for", "id"))


def _load_batch(
    reminders: list[Reminder], now: datetime, today: date, templates: dict[tuple[str, str, str], MessageTemplate | None]
) -> Batch:
    borrower_ids = {r.borrower_id for r in reminders}
    # The same lock a collector's attempt takes: a reminder and a call at once cannot both
    # pass a cap (held with the claim, until the batch commits).
    contact.borrower_lock(*borrower_ids)
    cases = {c.borrower_id: c for c in Case.objects.filter(borrower_id__in=borrower_ids, status=Case.Status.OPEN)}
    points: dict[int, list[ContactPoint]] = defaultdict(list)
    active = ContactPoint.objects.filter(borrower_id__in=borrower_ids, status=ContactPoint.Status.ACTIVE)
    for point in active.order_by("id"):
        points[point.borrower_id].append(point)
    return Batch(now, today, cases, points, templates)


def _dispatch_one(reminder: Reminder, batch: Batch) -> str:
    """Send one claimed reminder on its first allowed channel; return what became of it."""
    reminder.claimed_at, reminder.tries = batch.now, reminder.tries + 1
    reason = _no_longer_due(reminder, batch.today)
    if reason:
        return _finish(reminder, Reminder.Status.SKIPPED, detail=reason)
    refused: list[str] = []
    for channel in reminder.step.channels:
        point = _contact_point(batch, reminder.borrower_id, channel)
        if channel != Channel.LETTER and point is None:
            refused.append(f"{channel}: no active contact point")
            continue
        template = _template(batch, reminder.step.template_code, reminder.borrower.language, channel)
        if template is None:
            refused.append(f"{channel}: no approved template")
            continue
        decision = gate.contact_check(
            case=batch.cases.get(reminder.borrower_id),
            borrower=reminder.borrower,
            channel=channel,
            at=batch.now,
            contact_point=point,
            template_id=template.pk,
        )
        if decision.allowed:
            return _send(reminder, batch, channel, point, template, decision)
        _record(reminder, batch, channel, point, template, decision, outcome="blocked")
        refused.append(f"{channel}: {decision.rule}")
        if decision.rule in CHANNEL_RULES:
            continue
        if decision.next_allowed_at is not None:
            _finish(reminder, Reminder.Status.BLOCKED, next_try_at=decision.next_allowed_at, detail="; ".join(refused))
            return "deferred"
        break  # a borrower-wide rule with no end in sight (cease, dispute): no channel may go
    return _finish(reminder, Reminder.Status.BLOCKED, detail="; ".join(refused) or "no channel")


def _no_longer_due(reminder: Reminder, today: date) -> str:
    inst, step = reminder.installment, reminder.step
    if reminder.loan.status != Loan.Status.ACTIVE:
        return f"loan is {reminder.loan.status}"
    if _unpaid(inst) <= (inst.arrears_tolerance if _past_due(step) else Decimal("0.00")):
        return "installment paid"
    # "Due in 3 days" must not arrive after the due date (a reminder held back by the gate).
    if step.anchor == ReminderStep.Anchor.DUE_DATE and step.offset_days < 0 and inst.due_date < today:
        return "stale: the due date has passed"
    # A reminder speaks of its own day; one the gate held overnight may still go the next
    # morning, but older ones (the dispatcher was down) are left to the ladder's next rung.
    if reminder.planned_for < today - timedelta(days=STALE_AFTER_DAYS):
        return f"stale: planned for {reminder.planned_for}"
    return ""


def _unpaid(inst: Installment) -> Decimal:
    return quantize_money(inst.principal_due + inst.interest_due - inst.principal_paid - inst.interest_paid)


def _past_due(step: ReminderStep) -> bool:
    return step.anchor == ReminderStep.Anchor.GRACE_END or step.offset_days > 0


def _contact_point(batch: Batch, borrower_id: int, channel: str) -> ContactPoint | None:
    """The borrower's active point for `channel`, verified ones first; letters need none."""
    kind = POINT_KIND.get(channel)
    candidates = [p for p in batch.points.get(borrower_id, []) if p.kind == kind]
    verified_first = sorted(candidates, key=lambda p: p.verification != ContactPoint.Verification.VERIFIED)
    return verified_first[0] if verified_first else None


def _template(batch: Batch, code: str, language: str, channel: str) -> MessageTemplate | None:
    key = (code, language, channel)
    if key not in batch.templates:
        batch.templates[key] = MessageTemplate.objects.filter(
            code=code, language=language, channel=channel, status=MessageTemplate.Status.APPROVED
        ).first()
    return batch.templates[key]


def _send(
    reminder: Reminder,
    batch: Batch,
    channel: str,
    point: ContactPoint | None,
    template: MessageTemplate,
    decision: gate.Decision,
) -> str:
    subject, body = lint.template_render(template=template, context=_context(reminder))
    adapter_for(channel).send(to=_address(reminder.borrower, point), subject=subject, body=body, reminder=reminder)
    attempt = _record(reminder, batch, channel, point, template, decision, outcome="sent")
    reminder.channel, reminder.sent_at, reminder.attempt = channel, batch.now, attempt
    return _finish(reminder, Reminder.Status.SENT, detail="")


def _record(
    reminder: Reminder,
    batch: Batch,
    channel: str,
    point: ContactPoint | None,
    template: MessageTemplate,
    decision: gate.Decision,
    *,
    outcome: str,
) -> object:
    return contact.contact_attempt_record_decision(
        decision=decision,
        case=batch.cases.get(reminder.borrower_id),
        borrower=reminder.borrower,
        channel=channel,
        at=batch.now,
        outcome=outcome,
        source="reminder",
        contact_point=point,
        template=template,
        note=f"reminder {reminder.pk} ({reminder.step.code})",
    )


def _context(reminder: Reminder) -> dict[str, str]:
    inst = reminder.installment
    return {
        "name": reminder.borrower.name,
        "amount": f"{_unpaid(inst):.2f}",
        "due_date": inst.due_date.isoformat(),
        "grace_end": inst.grace_end.isoformat(),
        "loan": str(reminder.loan_id),
    }


def _address(borrower: Borrower, point: ContactPoint | None) -> str:
    return point.value if point else f"{borrower.name}, registered address"


def _finish(reminder: Reminder, status: str, *, detail: str, next_try_at: datetime | None = None) -> str:
    before = {"status": reminder.status}
    reminder.status, reminder.next_try_at, reminder.detail = status, next_try_at, detail[:300]
    reminder.save(
        update_fields=["status", "next_try_at", "detail", "claimed_at", "tries", "channel", "sent_at", "attempt"]
    )
    after = {"status": status, "channel": reminder.channel, "next_try_at": next_try_at, "detail": reminder.detail}
    audit_record(actor=None, action=f"reminder.{status}", entity=reminder, before=before, after=after)
    return status
