"""Cases and queues: opened, updated, routed and closed at close of day; handed out, assigned and escalated by people.

Close of day step 4 (`collections.cases`), per id-range chunk of borrowers, for business date D
(the loans' dpd, grace_end, overdue_amount and bucket are as of D after step 1):
  * a borrower's facts from their active loans with days past due: worst days past due,
    overdue amount, expected loss = sum over loans of PD x overdue amount (PD: Loan.risk_pd
    when scoring set it, else DEFAULT_PD_BY_BUCKET of the loan's bucket), and whether any loan is past grace end by more than its
    grace policy's `case_open_after_days` (the policy in force on the loan's oldest overdue
    due date, D - dpd: the product's own version, else the all-products one);
  * a borrower with such a loan and no open case gets one; an open case takes the day's facts;
  * every loan of the borrower with days past due joins the case;
  * a case whose borrower has no active loan left with days past due closes;
  * priority (promises.cases_prioritize) and the queue of the first matching routing rule.
The step's finish decides promises. Nothing loops over loans or cases in Python.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef, QuerySet
from django.utils import timezone

from riskdesk.collections import gate
from riskdesk.collections.arrangements import arrangements_review
from riskdesk.collections.models import (
    Agency,
    AgencyPlacement,
    Case,
    CollectorProfile,
    ContactAttempt,
    Promise,
    Stage,
)
from riskdesk.collections.promises import cases_prioritize, promises_decide
from riskdesk.core import roles
from riskdesk.core.audit import Actor, audit_record
from riskdesk.core.dates import add_months, business_today
from riskdesk.core.errors import Conflict, DomainError, NotFound
from riskdesk.core.jobs import RowCounts, Step, id_ranges
from riskdesk.core.models import AuditLog
from riskdesk.core.sql import date_param, days_before, days_between, is_postgres
from riskdesk.lending.grace_rules import DEFAULT_CASE_OPEN_AFTER_DAYS
from riskdesk.lending.models import Loan

STEP_NAME = "collections.cases"
# Stage by worst days past due; the bounds are those of the default buckets
# (M1 early, M2-M3 mid, M4-M6 late, M7+ over 180: write-off review).
STAGE_BY_MAX_DPD = ((30, Stage.EARLY), (90, Stage.MID), (180, Stage.LATE))
LATE_STAGES = (Stage.LATE, Stage.WRITE_OFF_REVIEW)
COLLECTOR_STAGES = (Stage.EARLY, Stage.MID)
# Probability of default by bucket when scoring has not set Loan.risk_pd: the share of
# each bucket's balance the desk expects to lose, rising with days past due.
DEFAULT_PD_BY_BUCKET = {
    "M1": "0.10",
    "M2": "0.25",
    "M3": "0.40",
    "M4": "0.55",
    "M5": "0.65",
    "M6": "0.75",
    "M7+": "0.90",
}
DEFAULT_PD_OTHER_BUCKET = "0.50"
DEFAULT_LANGUAGES = CollectorProfile._meta.get_field("languages").default
DEFAULT_CAP = CollectorProfile._meta.get_field("max_open_cases").default
FACTS = "collections_case_facts"


def _execute(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _contains(haystack: str, needle: str) -> str:
    return f"strpos({haystack}, {needle})" if is_postgres() else f"instr({haystack}, {needle})"


# -- close of day -----------------------------------------------------------------------


def borrower_chunks(_: date) -> list[tuple[int, int]]:
    """Id ranges of the borrowers with a loan past due or an open case (as many ids per chunk as loans in step 1)."""
    ranges = [
        Loan.objects.filter(dpd__gt=0).aggregate(lo=Min("borrower_id"), hi=Max("borrower_id")),
        Case.objects.filter(status=Case.Status.OPEN).aggregate(lo=Min("borrower_id"), hi=Max("borrower_id")),
    ]
    lows = [r["lo"] for r in ranges if r["lo"] is not None]
    highs = [r["hi"] for r in ranges if r["hi"] is not None]
    return id_ranges(min(lows, default=None), max(highs, default=None), settings.CLOSE_DAY_CHUNK_LOANS)


def cases_refresh_chunk(day: date, lo: int, hi: int) -> RowCounts:
    """Open, update, close and route the cases of borrowers lo..hi on `day`."""
    _collect_facts(day, lo, hi)
    opened = _open_cases(day)
    updated = _update_cases(day)
    _link_loans(lo, hi)
    closed = _close_cases(day, lo, hi)
    _execute(f"DROP TABLE {FACTS}")
    cases_prioritize(Case.objects.filter(status=Case.Status.OPEN, borrower_id__gte=lo, borrower_id__lte=hi), day)
    routed = _route(lo, hi)
    return {"cases_opened": opened, "cases_updated": updated, "cases_closed": closed, "cases_routed": routed}


def cases_refresh(day: date) -> RowCounts:
    """Every chunk of step 4 on `day` in this process (the step shares them between workers)."""
    totals: Counter[str] = Counter()
    for lo, hi in borrower_chunks(day):
        with transaction.atomic():
            totals.update(cases_refresh_chunk(day, lo, hi))
    return dict(totals)


def cases_finish(day: date) -> RowCounts:
    """Once the chunks are done: decide the promises whose window ended and review arrangements.

    A broken arrangement lifts the gate's arrangement pause; its loan, overdue again past
    grace, has a case from the chunks (a new one if the old closed while it held).
    """
    return {**promises_decide(day), **arrangements_review(day)}


def _default_pd_sql() -> str:
    whens = " ".join(f"WHEN '{code}' THEN {pd}" for code, pd in DEFAULT_PD_BY_BUCKET.items())
    return f"CASE l.bucket {whens} ELSE {DEFAULT_PD_OTHER_BUCKET} END"


def _stage_sql(dpd: str) -> str:
    whens = " ".join(f"WHEN {dpd} <= {bound} THEN '{stage.value}'" for bound, stage in STAGE_BY_MAX_DPD)
    return f"CASE {whens} ELSE '{Stage.WRITE_OFF_REVIEW.value}' END"


def _open_after_days_sql() -> str:
    """The loan's `case_open_after_days`: its product's policy on its oldest overdue due date, else the default's.

    lending/grace_rules.py `case_due` states the same rule for the grace-policy preview.
    """
    d = date_param()
    oldest_due = days_before(d, "l.dpd")
    version = (
        "(SELECT g.case_open_after_days FROM lending_gracepolicy g WHERE {product} AND g.effective_from <= "
        + oldest_due
        + " ORDER BY g.effective_from DESC LIMIT 1)"
    )
    return (
        f"COALESCE({version.format(product='g.product_id = l.product_id')}, "
        f"{version.format(product='g.product_id IS NULL')}, {int(DEFAULT_CASE_OPEN_AFTER_DAYS)})"
    )


def _collect_facts(day: date, lo: int, hi: int) -> None:
    d = date_param()
    past_open_day = f"{days_between(d, 'l.grace_end')} > {_open_after_days_sql()}"
    _execute(f"DROP TABLE IF EXISTS {FACTS}")
    _execute(
        f"""
        CREATE TEMP TABLE {FACTS} AS
        SELECT l.borrower_id, MAX(l.dpd) AS max_dpd,
               ROUND(SUM(l.overdue_amount), 2) AS overdue_amount,
               ROUND(SUM(COALESCE(l.risk_pd, {_default_pd_sql()}) * l.overdue_amount), 2) AS expected_loss,
               MAX(CASE WHEN l.grace_end IS NOT NULL AND {past_open_day} THEN 1 ELSE 0 END) AS past_open_day
        FROM lending_loan l
        WHERE l.borrower_id BETWEEN %s AND %s AND l.status = 'active' AND l.dpd > 0
        GROUP BY l.borrower_id
        """,
        [day, day, day, lo, hi],
    )
    worst_bucket = (
        f"(SELECT b.code FROM lending_bucket b WHERE {FACTS}.max_dpd >= b.min_dpd "
        f"AND (b.max_dpd IS NULL OR {FACTS}.max_dpd <= b.max_dpd))"
    )
    _execute(f"ALTER TABLE {FACTS} ADD COLUMN worst_bucket varchar(8)")
    _execute(f"ALTER TABLE {FACTS} ADD COLUMN stage varchar(16)")
    _execute(f"UPDATE {FACTS} SET worst_bucket = COALESCE({worst_bucket}, ''), stage = {_stage_sql('max_dpd')}")
    # Cases are looked up here per borrower; the case table's statistics lag behind a
    # night that just opened thousands, and a nested loop over an unindexed table is quadratic.
    _execute(f"CREATE INDEX {FACTS}_borrower ON {FACTS} (borrower_id)")
    if is_postgres():
        _execute(f"ANALYZE {FACTS}")


def _open_cases(day: date) -> int:
    d = date_param()
    rows = _fetch(
        f"""
        INSERT INTO collections_case (borrower_id, status, stage, worst_bucket, max_dpd, overdue_amount,
                                      expected_loss, priority, opened_on, updated_on, close_reason, write_off_review)
        SELECT f.borrower_id, 'open', f.stage, f.worst_bucket, f.max_dpd, f.overdue_amount,
               f.expected_loss, f.expected_loss, {d}, {d}, '',
               CASE WHEN f.stage = '{Stage.WRITE_OFF_REVIEW.value}' THEN 'pending' ELSE '' END
        FROM {FACTS} f
        WHERE f.past_open_day = 1
          AND NOT EXISTS (SELECT 1 FROM collections_case c WHERE c.borrower_id = f.borrower_id AND c.status = 'open')
        RETURNING id, stage, max_dpd, overdue_amount
        """,
        [day, day],
    )
    AuditLog.objects.bulk_create(
        AuditLog(
            action="case.open",
            entity_type=Case._meta.label_lower,
            entity_id=str(case_id),
            after={"stage": stage, "max_dpd": max_dpd, "overdue_amount": str(overdue)},
            reason=f"past grace end on {day}",
        )
        for case_id, stage, max_dpd, overdue in rows
    )
    return len(rows)


def _update_cases(day: date) -> int:
    """The day's facts onto open cases that changed.

    Reaching write-off review puts a case up for decision; leaving it undecided (paid back
    under 181 days) takes it off again. A decision already made stays.
    """
    return _execute(
        f"""
        UPDATE collections_case
        SET stage = f.stage, worst_bucket = f.worst_bucket, max_dpd = f.max_dpd,
            overdue_amount = f.overdue_amount, expected_loss = f.expected_loss, updated_on = {date_param()},
            write_off_review = CASE WHEN f.stage = '{Stage.WRITE_OFF_REVIEW.value}'
                                     AND collections_case.write_off_review = '' THEN 'pending'
                                    WHEN f.stage <> '{Stage.WRITE_OFF_REVIEW.value}'
                                     AND collections_case.write_off_review = 'pending' THEN ''
                                    ELSE collections_case.write_off_review END
        FROM {FACTS} f
        WHERE collections_case.borrower_id = f.borrower_id AND collections_case.status = 'open'
          AND (collections_case.stage <> f.stage OR collections_case.worst_bucket <> f.worst_bucket
               OR collections_case.max_dpd <> f.max_dpd OR collections_case.overdue_amount <> f.overdue_amount
               OR collections_case.expected_loss <> f.expected_loss)
        """,
        [day],
    )


def _link_loans(lo: int, hi: int) -> int:
    return _execute(
        """
        INSERT INTO collections_case_loans (case_id, loan_id)
        SELECT c.id, l.id FROM collections_case c JOIN lending_loan l ON l.borrower_id = c.borrower_id
        WHERE c.status = 'open' AND c.borrower_id BETWEEN %s AND %s AND l.status = 'active' AND l.dpd > 0
          AND NOT EXISTS (SELECT 1 FROM collections_case_loans x WHERE x.case_id = c.id AND x.loan_id = l.id)
        """,
        [lo, hi],
    )


def _close_cases(day: date, lo: int, hi: int) -> int:
    """Close the open cases whose borrower has no active loan past due: paid off, written off, cured,
    or under an arrangement in force (a broken one makes the loan overdue again, and a new case opens)."""
    d = date_param()
    every_loan = (
        "NOT EXISTS (SELECT 1 FROM collections_case_loans x JOIN lending_loan l ON l.id = x.loan_id "
        "WHERE x.case_id = collections_case.id AND l.status <> '{status}')"
    )
    rows = _fetch(
        f"""
        UPDATE collections_case
        SET status = 'closed', closed_on = {d}, updated_on = {d},
            close_reason = CASE WHEN {every_loan.format(status="paid_off")} THEN 'paid_off'
                                WHEN {every_loan.format(status="written_off")} THEN 'written_off'
                                WHEN EXISTS (SELECT 1 FROM collections_arrangement a
                                             WHERE a.case_id = collections_case.id AND a.status = 'active')
                                     THEN 'arrangement'
                                ELSE 'cured' END
        WHERE status = 'open' AND borrower_id BETWEEN %s AND %s
          AND NOT EXISTS (SELECT 1 FROM {FACTS} f WHERE f.borrower_id = collections_case.borrower_id)
        RETURNING id, close_reason
        """,
        [day, day, lo, hi],
    )
    AuditLog.objects.bulk_create(
        AuditLog(
            action="case.close",
            entity_type=Case._meta.label_lower,
            entity_id=str(case_id),
            before={"status": Case.Status.OPEN.value},
            after={"status": Case.Status.CLOSED.value, "close_reason": reason},
            reason=f"{reason} on {day}",
        )
        for case_id, reason in rows
    )
    _recall_placements([case_id for case_id, _ in rows], day)
    return len(rows)


def _recall_placements(case_ids: list[int], day: date) -> None:
    """A closed case leaves its agency: the agency no longer sees it or acts on it."""
    placements = AgencyPlacement.objects.filter(case_id__in=case_ids, recalled_on__isnull=True)
    recalled = list(placements.values_list("case_id", "agency_id"))
    placements.update(recalled_on=day)
    Case.objects.filter(pk__in=[case_id for case_id, _ in recalled]).update(agency=None)
    AuditLog.objects.bulk_create(
        AuditLog(
            action="case.recall_from_agency",
            entity_type=Case._meta.label_lower,
            entity_id=str(case_id),
            before={"agency": agency_id},
            after={"agency": None},
            reason=f"case closed on {day}",
        )
        for case_id, agency_id in recalled
    )


def _queue_sql() -> str:
    """The queue of the first active rule (by order) the case matches, else the queue named after its stage.

    A rule matches on each criterion it sets: stage; any of the borrower's past-due loans
    having a risk band among `risk_bands`; overdue amount in [min_overdue, max_overdue);
    the borrower's language.
    """
    case = "collections_case"
    band_matches = (
        f"EXISTS (SELECT 1 FROM lending_loan l WHERE l.borrower_id = {case}.borrower_id AND l.status = 'active' "
        f"AND l.dpd > 0 AND l.risk_band <> '' AND {_contains('r.risk_bands', 'l.risk_band')} > 0)"
    )
    return f"""COALESCE(
        (SELECT r.queue_id FROM collections_routingrule r
         WHERE r.active
           AND (r.stage = '' OR r.stage = {case}.stage)
           AND (r.risk_bands = '' OR {band_matches})
           AND (r.min_overdue IS NULL OR {case}.overdue_amount >= r.min_overdue)
           AND (r.max_overdue IS NULL OR {case}.overdue_amount < r.max_overdue)
           AND (r.language = '' OR r.language = (SELECT b.language FROM lending_borrower b
                                                WHERE b.id = {case}.borrower_id))
         ORDER BY r."order" LIMIT 1),
        (SELECT q.id FROM collections_queue q WHERE q.code = {case}.stage))"""


def _route(lo: int, hi: int) -> int:
    queue = _queue_sql()
    return _execute(
        f"""
        UPDATE collections_case SET queue_id = {queue}
        WHERE status = 'open' AND borrower_id BETWEEN %s AND %s AND COALESCE(queue_id, 0) <> COALESCE({queue}, 0)
        """,
        [lo, hi],
    )


CASES_STEP = Step(STEP_NAME, borrower_chunks, cases_refresh_chunk, cases_finish)


# -- handing out and assigning cases ----------------------------------------------------


def collector_cap(collector: User) -> int:
    cap = CollectorProfile.objects.filter(user=collector).values_list("max_open_cases", flat=True).first()
    return DEFAULT_CAP if cap is None else cap


def collector_languages(collector: User) -> list[str]:
    languages = CollectorProfile.objects.filter(user=collector).values_list("languages", flat=True).first()
    return [code.strip() for code in (languages or DEFAULT_LANGUAGES).split(",") if code.strip()]


def open_cases_held(collector: User) -> int:
    return Case.objects.filter(assigned_to=collector, status=Case.Status.OPEN).count()


def _lock_collector(collector: User) -> None:
    """Serialize assignments to one collector, so two at once cannot both slip under the cap."""
    User.objects.select_for_update().filter(pk=collector.pk).first()


def _check_cap(collector: User, adding: int) -> None:
    held, cap = open_cases_held(collector), collector_cap(collector)
    if held + adding > cap:
        raise DomainError(
            "workload_cap_reached",
            f"{collector.get_username()} holds {held} open cases; the cap is {cap}.",
            field="collector",
            held=held,
            cap=cap,
        )


def _assign(case: Case, collector: User | None, actor: Actor, reason: str = "") -> Case:
    before = {"assigned_to": case.assigned_to_id}
    case.assigned_to = collector
    case.assigned_at = timezone.now() if collector else None
    case.save(update_fields=["assigned_to", "assigned_at"])
    audit_record(
        actor=actor,
        action="case.assign",
        entity=case,
        before=before,
        after={"assigned_to": collector.pk if collector else None},
        reason=reason,
    )
    return case


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _own_promise_due(collector: User, today: date) -> Case | None:
    """The collector's top open case with a promise due by today, not yet worked by them today."""
    due = Promise.objects.filter(case=OuterRef("pk"), status=Promise.Status.PENDING, due_on__lte=today)
    worked = ContactAttempt.objects.filter(case=OuterRef("pk"), actor=collector, at__gte=_start_of(today))
    return (
        Case.objects.filter(assigned_to=collector, status=Case.Status.OPEN)
        .filter(Exists(due))
        .exclude(Exists(worked))
        .order_by("-priority", "id")
        .first()
    )


def claimable_cases(collector: User) -> QuerySet[Case]:
    """Open unassigned cases not with an agency, in the queues of the collector's stages and languages.

    Collectors draw from early and mid queues; late and write-off review belong to supervisors.
    """
    stages = [*COLLECTOR_STAGES]
    if roles.has_role(collector, roles.SUPERVISOR, roles.ADMIN):
        stages += LATE_STAGES
    return Case.objects.filter(
        status=Case.Status.OPEN,
        assigned_to__isnull=True,
        agency__isnull=True,
        queue__stage__in=stages,
        borrower__language__in=collector_languages(collector),
    ).order_by("-priority", "id")


def case_next(*, collector: User) -> Case | None:
    """The collector's next case: their own case with a promise due, else claim the top claimable one.

    The claim is SELECT ... FOR UPDATE SKIP LOCKED: collectors asking at once each get a
    different case. None when nothing is left.
    """
    today = business_today()
    with transaction.atomic():
        _lock_collector(collector)
        own = _own_promise_due(collector, today)
        if own is not None:
            return own
        _check_cap(collector, adding=1)
        case = claimable_cases(collector).select_for_update(skip_locked=True, of=("self",)).first()
        if case is None:
            return None
        return _assign(case, collector, actor=collector, reason="next case")


def _require_collector(collector: User) -> None:
    if not collector.is_active or not roles.has_role(collector, roles.COLLECTOR, roles.SUPERVISOR):
        raise DomainError("not_a_collector", f"{collector.get_username()} does not work cases.", field="collector")


def _locked_open_case(case: Case) -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != Case.Status.OPEN:
        raise DomainError("case_closed", f"Case #{case.pk} is closed.")
    return case


def case_assign(*, case: Case, collector: User, actor: Actor) -> Case:
    """Assign an open case to a collector (a supervisor's action), inside the collector's cap."""
    roles.require_role(actor, roles.COLLECTIONS_DECIDERS, "assign cases")
    _require_collector(collector)
    with transaction.atomic():
        _lock_collector(collector)
        case = _locked_open_case(case)
        if case.assigned_to_id == collector.pk:
            return case
        _check_cap(collector, adding=1)
        return _assign(case, collector, actor)


def cases_reassign(*, case_ids: list[int], collector: User | None, actor: Actor) -> int:
    """Move open cases to `collector` (None: back to their queues), all or none; the number moved."""
    roles.require_role(actor, roles.COLLECTIONS_DECIDERS, "reassign cases")
    if collector is not None:
        _require_collector(collector)
    with transaction.atomic():
        if collector is not None:
            _lock_collector(collector)
        cases = list(Case.objects.select_for_update().filter(pk__in=set(case_ids)).order_by("id"))
        _check_reassignable(cases, set(case_ids))
        target = collector.pk if collector else None
        moving = [case for case in cases if case.assigned_to_id != target]
        if collector is not None:
            _check_cap(collector, adding=len(moving))
        for case in moving:
            _assign(case, collector, actor, reason="bulk reassignment")
    return len(moving)


def _check_reassignable(cases: list[Case], wanted: set[int]) -> None:
    missing = sorted(wanted - {case.pk for case in cases})
    if missing:
        raise NotFound("case_not_found", f"No case {', '.join(map(str, missing))}.", field="case_ids", missing=missing)
    closed = [case.pk for case in cases if case.status != Case.Status.OPEN]
    if closed:
        raise DomainError("case_closed", f"Closed: {', '.join(map(str, closed))}.", field="case_ids", closed=closed)


def collector_cap_set(*, collector: User, max_open_cases: int, actor: Actor) -> CollectorProfile:
    """Set how many open cases a collector may hold; cases held above a lowered cap stay."""
    roles.require_role(actor, roles.COLLECTIONS_DECIDERS, "set workload caps")
    if not isinstance(max_open_cases, int) or max_open_cases < 0:
        raise DomainError("invalid_cap", "The cap is a whole number, 0 or more.", field="max_open_cases")
    with transaction.atomic():
        profile, _ = CollectorProfile.objects.select_for_update().get_or_create(user=collector)
        before = {"max_open_cases": profile.max_open_cases}
        profile.max_open_cases = max_open_cases
        profile.save(update_fields=["max_open_cases"])
        audit_record(
            actor=actor,
            action="collector.cap_set",
            entity=profile,
            before=before,
            after={"max_open_cases": max_open_cases},
        )
    return profile


# -- agency placement, legal escalation, write-off review --------------------------------


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise DomainError("reason_required", "Give a reason.", field="reason")


def _require_late(case: Case, action: str) -> None:
    if case.stage not in LATE_STAGES:
        raise DomainError(
            "stage_not_late", f"Only a late or write-off-review case can be {action}; this one is {case.stage}."
        )


def _check_agency(agency: Agency, today: date, now: datetime) -> None:
    if not agency.active:
        raise DomainError("agency_inactive", f"{agency.name} is not active.", field="agency")
    months = gate.policy_rule_at(now, "agency_review_months")
    if agency.reviewed_on < add_months(today, -months):
        raise DomainError(
            "agency_review_overdue",
            f"{agency.name} was last reviewed on {agency.reviewed_on}; placements need a review within {months} months.",
            field="agency",
        )


def case_place_with_agency(
    *, case: Case, agency: Agency, borrower_notified_at: datetime, actor: Actor, reason: str = ""
) -> AgencyPlacement:
    """Place a late case with an outside agency, once the borrower has been told and the agency is reviewed."""
    roles.require_role(actor, roles.COLLECTIONS_DECIDERS, "place cases with an agency")
    today, now = business_today(), timezone.now()
    with transaction.atomic():
        case = _locked_open_case(case)
        _require_late(case, "placed with an agency")
        if borrower_notified_at >= now:
            raise DomainError(
                "borrower_not_notified",
                "The borrower must be notified of the placement before it is made.",
                field="borrower_notified_at",
            )
        _check_agency(agency, today, now)
        if case.agency_id is not None:
            raise Conflict("case_already_placed", f"Case #{case.pk} is already with an agency; recall it first.")
        placement = AgencyPlacement.objects.create(
            case=case, agency=agency, borrower_notified_at=borrower_notified_at, placed_on=today, reason=reason
        )
        case.agency = agency
        case.save(update_fields=["agency"])
        audit_record(
            actor=actor,
            action="case.place_with_agency",
            entity=case,
            before={"agency": None},
            after={"agency": agency.pk, "placement": placement.pk, "borrower_notified_at": borrower_notified_at},
            reason=reason,
        )
    return placement


def case_recall_from_agency(*, case: Case, actor: Actor, reason: str) -> AgencyPlacement:
    """End the case's agency placement; the desk works it again."""
    roles.require_role(actor, roles.COLLECTIONS_DECIDERS, "recall cases from an agency")
    _require_reason(reason)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        placement = AgencyPlacement.objects.filter(case=case, recalled_on__isnull=True).first()
        if placement is None:
            raise DomainError("case_not_placed", f"Case #{case.pk} is not with an agency.")
        placement.recalled_on = business_today()
        placement.save(update_fields=["recalled_on"])
        before = {"agency": case.agency_id}
        case.agency = None
        case.save(update_fields=["agency"])
        audit_record(
            actor=actor,
            action="case.recall_from_agency",
            entity=case,
            before=before,
            after={"agency": None},
            reason=reason,
        )
    return placement


def case_escalate_legal(*, case: Case, actor: Actor, reason: str) -> Case:
    """Send a late case to legal, once."""
    roles.require_role(actor, roles.COLLECTIONS_DECIDERS, "escalate cases to legal")
    _require_reason(reason)
    with transaction.atomic():
        case = _locked_open_case(case)
        _require_late(case, "escalated to legal")
        if case.legal_escalated_on is not None:
            raise Conflict("already_escalated", f"Case #{case.pk} went to legal on {case.legal_escalated_on}.")
        case.legal_escalated_on = business_today()
        case.save(update_fields=["legal_escalated_on"])
        audit_record(
            actor=actor,
            action="case.escalate_legal",
            entity=case,
            before={"legal_escalated_on": None},
            after={"legal_escalated_on": case.legal_escalated_on},
            reason=reason,
        )
    return case


def case_write_off_review_decide(*, case: Case, approve: bool, actor: Actor, reason: str) -> Case:
    """Approve or reject the write-off of a case put up for review at over 180 days past due."""
    roles.require_role(actor, roles.COLLECTIONS_DECIDERS, "decide write-off reviews")
    _require_reason(reason)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if case.write_off_review != Case.WriteOffReview.PENDING:
            raise Conflict(
                "write_off_review_not_pending", f"Case #{case.pk} has no write-off review waiting for a decision."
            )
        decision = Case.WriteOffReview.APPROVED if approve else Case.WriteOffReview.REJECTED
        case.write_off_review = decision
        case.save(update_fields=["write_off_review"])
        audit_record(
            actor=actor,
            action="case.write_off_review_decide",
            entity=case,
            before={"write_off_review": Case.WriteOffReview.PENDING.value},
            after={"write_off_review": decision.value},
            reason=reason,
        )
    return case
