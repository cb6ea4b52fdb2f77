"""Close of day's last step (`dashboards.aggregates`): the tables the dashboard pages read.

For business date D each part deletes its rows for D and inserts them again, so a rerun
(or `fill_dashboards`) changes nothing. The work is grouped in the database; Python only
touches a handful of rows per bucket, product or collector. The parts are the step's
chunks, in order, so the operations page's progress bar moves part by part and a crash
resumes at the part it stopped in:

1. roll rates (at month end) and then expected loss, which reads them;
2. vintages, rebuilt whole;
3. the collections work of D and the 6 closed days before it;
4. the compliance facts of D and the 6 closed days before it.

What is exact for a past day: roll rates (they read the frozen month-end loan snapshots),
compliance (timestamped events) and collections' attempts and promises. Expected loss and
vintages read the loans as they stand, so they describe the last closed day only, and
collections attribute cases and recoveries to each case's current collector and stage.

Collections and compliance are recounted for a week (settings.DASHBOARDS_RECOUNT_DAYS,
default 7): a complaint's `received_at` may be keyed days after the fact, and an attempt
may be logged a few minutes back across a close that has already run, so each night
rebuilds those two tables for D and every closed day of the 6 before it. They are cheap (a day's events)
and exact for past days, apart from cases counting under their current collector.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from riskdesk.collections.compliance import in_daily_window
from riskdesk.collections.gate import POLICY_ORDER
from riskdesk.collections.models import (
    Case,
    Channel,
    Complaint,
    ContactAttempt,
    ContactPolicy,
    ContactRestriction,
    Promise,
    QuietHoursConsent,
)
from riskdesk.core.dates import add_months, is_month_end, month_end
from riskdesk.core.jobs import RowCounts, Step
from riskdesk.core.models import ClosedDay
from riskdesk.core.sql import date_param, days_before, execute, fetch_all, is_postgres, money, month_start
from riskdesk.dashboards.models import (
    CollectionsDay,
    ComplianceDay,
    LossGivenDefault,
    RollRateMonth,
)
from riskdesk.lending.models import Bucket, Product
from riskdesk.riskmodels.features import REACHING_OUTCOMES

STEP_NAME = "dashboards.aggregates"
# Stage thresholds (DESIGN.md "Dashboards"): over 30 days past due is stage 2, over 90 stage 3.
STAGE_2_DPD = 30
STAGE_3_DPD = 90
ROLL_RATE_MONTHS = 3
PD_PLACES = Decimal("0.000001")
# Migration 0002's default version, for a book whose setting table was emptied (a flush).
DEFAULT_LGD = Decimal("0.4500")


def _numeric(placeholder: str = "%s") -> str:
    return f"{placeholder}::numeric" if is_postgres() else placeholder


# -- roll rates ------------------------------------------------------------------------


def roll_rates_build(day: date) -> int:
    """At month end D: each loan of the previous month end's snapshot, moved to where it is at D.

    A loan in both snapshots lands in its bucket at D (a loan paid off on D itself is in
    D's snapshot with its status); a loan missing at D left the book and lands in its
    status (`paid_off`, `written_off`). Rebuilt exactly for any month end: both snapshots
    are frozen and a loan's way out of the book never changes.
    """
    if not is_month_end(day):
        return 0
    d = date_param()
    execute(f"DELETE FROM dashboards_rollratemonth WHERE month_end = {d}", [day])
    previous = month_end(add_months(day.replace(day=1), -1))
    return execute(
        f"""
        INSERT INTO dashboards_rollratemonth (month_end, product_id, term, origination_month, from_bucket,
                                              to_bucket, loans, balance)
        SELECT {d}, r.product_id, r.term, {month_start("r.disbursed_on")}, r.from_bucket, r.to_bucket,
               SUM(r.loans), {money("SUM(r.balance)")}
        FROM (
            SELECT l.product_id, l.term, l.disbursed_on, s0.bucket AS from_bucket,
                   CASE WHEN s1.status = 'active' THEN s1.bucket
                        WHEN COALESCE(s1.status, l.status) = 'written_off' THEN 'written_off'
                        ELSE 'paid_off' END AS to_bucket,
                   COUNT(*) AS loans, SUM(s0.outstanding_principal) AS balance
            FROM lending_loanmonthsnapshot s0
            JOIN lending_loan l ON l.id = s0.loan_id
            LEFT JOIN lending_loanmonthsnapshot s1 ON s1.loan_id = s0.loan_id AND s1.month_end = {d}
            WHERE s0.month_end = {d} AND s0.status = 'active'
            GROUP BY 1, 2, 3, 4, 5
        ) r
        GROUP BY r.product_id, r.term, {month_start("r.disbursed_on")}, r.from_bucket, r.to_bucket
        """,
        [day, day, previous],
    )


def roll_rate_pds(day: date) -> tuple[dict[str, Decimal], Decimal]:
    """PD per bucket from observed roll rates, and the PD of a bucket never observed.

    The PD of bucket b is the share of the loans in b at the earlier month end of the
    last three RollRateMonth months on or before D that were in a worse bucket (or
    written off) at the later one, pooled over those months (paid off is not worse). A
    bucket with no loans in that window takes the pooled rate of every bucket up to 90
    days past due; with no roll-rate history at all (a book younger than two month ends)
    the PD is 0, and the rows still say `roll_rate`.
    """
    buckets = list(Bucket.objects.order_by("min_dpd").values_list("code", "min_dpd"))
    rank = {code: k for k, (code, _) in enumerate(buckets)}
    months = list(
        RollRateMonth.objects.filter(month_end__lte=day)
        .order_by("-month_end")
        .values_list("month_end", flat=True)
        .distinct()[:ROLL_RATE_MONTHS]
    )
    seen: dict[str, int] = defaultdict(int)
    worse: dict[str, int] = defaultdict(int)
    for from_bucket, to_bucket, loans in (
        RollRateMonth.objects.filter(month_end__in=months)
        .values_list("from_bucket", "to_bucket")
        .annotate(loans=Sum("loans"))
    ):
        seen[from_bucket] += loans
        if to_bucket == RollRateMonth.WRITTEN_OFF or rank.get(to_bucket, -1) > rank.get(from_bucket, len(rank)):
            worse[from_bucket] += loans
    early = [code for code, min_dpd in buckets if min_dpd <= STAGE_3_DPD]
    fallback = _ratio(sum(worse.get(b, 0) for b in early), sum(seen.get(b, 0) for b in early))
    return {b: _ratio(worse.get(b, 0), n) for b, n in seen.items()}, fallback


def _ratio(numerator: int, denominator: int) -> Decimal:
    if not denominator:
        return Decimal("0.000000")
    return (Decimal(numerator) / Decimal(denominator)).quantize(PD_PLACES, rounding=ROUND_HALF_UP)


# -- expected loss ---------------------------------------------------------------------


def lgd_in_force(day: date) -> dict[int, Decimal]:
    """Each product's LGD on `day`: its own latest version from on or before `day`, else the default's."""
    versions = LossGivenDefault.objects.filter(effective_from__lte=day).order_by("effective_from")
    latest = {product_id: lgd for product_id, lgd in versions.values_list("product_id", "lgd")}
    default = latest.get(None, DEFAULT_LGD)
    return {product_id: latest.get(product_id, default) for product_id in Product.objects.values_list("id", flat=True)}


def expected_loss_build(day: date) -> int:
    """ExpectedLossDay for D from the open loans as they stand after the night's steps.

    Stage 3: more than 90 days past due, PD 1 (`default`). Stage 2: more than 30 days past
    due, or the champion band now worse (a later letter) than the band the current
    champion first gave the loan: the `to_band` of its latest `model_switch` band change
    on or before D, else of its first band change (the band it was first scored with).
    A promotion is a new model's view of the same borrower, not a downgrade, so only the
    new champion moving the loan to a worse band puts it in stage 2. Stage 1: the rest. PD: the loan's scored `risk_pd` where it has one, else its bucket's observed
    roll rate (`roll_rate_pds`). `pd_ead` is the sum of PD x EAD rounded to 6 places and
    `ecl` = LGD x that exact sum, rounded half-up to the cent.
    """
    d = date_param("d")
    execute(f"DELETE FROM dashboards_expectedlossday WHERE business_date = {d}", {"d": day})
    lgds = lgd_in_force(day)
    pds, fallback = roll_rate_pds(day)
    if not lgds:
        return 0
    params: dict[str, Any] = {"d": day, "fallback": fallback}
    params.update({f"product{k}": product_id for k, product_id in enumerate(lgds)})
    params.update({f"lgd{k}": lgd for k, lgd in enumerate(lgds.values())})
    params.update({f"bucket{k}": bucket for k, bucket in enumerate(pds)})
    params.update({f"pd{k}": pd for k, pd in enumerate(pds.values())})
    lgd_sql = " ".join(f"WHEN %(product{k})s THEN {_numeric(f'%(lgd{k})s')}" for k in range(len(lgds)))
    pd_sql = " ".join(f"WHEN l.bucket = %(bucket{k})s THEN {_numeric(f'%(pd{k})s')}" for k in range(len(pds)))
    downgraded = "(l.risk_band <> '' AND f.first_band IS NOT NULL AND l.risk_band > f.first_band)"
    # Loans are summed by disbursement day first and by month after: a month of a
    # million dates costs more than the grouping itself.
    return execute(
        f"""
        INSERT INTO dashboards_expectedlossday (business_date, product_id, term, origination_month, stage,
                                                pd_source, loans, ead, pd_ead, lgd, ecl)
        SELECT {d}, z.product_id, z.term, z.origination_month, z.stage, z.pd_source, z.loans,
               {money("z.ead")}, ROUND(z.pd_ead, 6), z.lgd, ROUND(z.lgd * z.pd_ead, 2)
        FROM (
            SELECT y.product_id, y.term, {month_start("y.disbursed_on")} AS origination_month, y.stage,
                   y.pd_source, CASE y.product_id {lgd_sql} END AS lgd,
                   SUM(y.loans) AS loans, SUM(y.ead) AS ead, SUM(y.pd_ead) AS pd_ead
            FROM (
                SELECT x.product_id, x.term, x.disbursed_on, x.stage, x.pd_source,
                       COUNT(*) AS loans, SUM(x.ead) AS ead, SUM(x.pd * x.ead) AS pd_ead
                FROM (
                    SELECT l.product_id, l.term, l.disbursed_on, l.outstanding_principal AS ead,
                           CASE WHEN l.dpd > {STAGE_3_DPD} THEN 3
                                WHEN l.dpd > {STAGE_2_DPD} OR {downgraded} THEN 2 ELSE 1 END AS stage,
                           CASE WHEN l.dpd > {STAGE_3_DPD} THEN 'default'
                                WHEN l.risk_pd IS NOT NULL THEN 'score' ELSE 'roll_rate' END AS pd_source,
                           CASE WHEN l.dpd > {STAGE_3_DPD} THEN 1
                                WHEN l.risk_pd IS NOT NULL THEN l.risk_pd {pd_sql}
                                ELSE {_numeric("%(fallback)s")} END AS pd
                    FROM lending_loan l
                    LEFT JOIN (
                        SELECT b.loan_id, b.to_band AS first_band
                        FROM riskmodels_bandchange b
                        JOIN (SELECT loan_id,
                                     COALESCE(MAX(CASE WHEN model_switch THEN "on" END), MIN("on")) AS first_on
                              FROM riskmodels_bandchange WHERE "on" <= {d} GROUP BY loan_id) m
                          ON m.loan_id = b.loan_id AND m.first_on = b."on"
                    ) f ON f.loan_id = l.id
                    WHERE l.status = 'active' AND l.disbursed_on <= {d}
                ) x
                GROUP BY x.product_id, x.term, x.disbursed_on, x.stage, x.pd_source
            ) y
            GROUP BY y.product_id, y.term, {month_start("y.disbursed_on")}, y.stage, y.pd_source
        ) z
        """,
        params,
    )


def roll_rates_and_expected_loss(day: date) -> RowCounts:
    # One part: expected loss reads the roll rates this month end has just added.
    return {"roll_rate_rows": roll_rates_build(day), "expected_loss_rows": expected_loss_build(day)}


# -- vintages --------------------------------------------------------------------------


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _first_past_sql(days: int) -> str:
    """SQL for the day a loan was first more than `days` past due (NULL: never, by D).

    That day is its first bucket history row with dpd over `days` on or before D: with
    bucket boundaries at 31 and 91 days (the default buckets) a loan changes bucket the
    day it passes them, so the row is that day exactly. A loan over `days` on D without
    such a row (boundaries set elsewhere) passed it D - (dpd - days - 1) days ago if it
    aged a day a day since, which is the best the stored facts say.
    """
    return f"""COALESCE(h.first{days}, CASE WHEN l.dpd > {days}
                THEN {days_before(date_param("d"), f"(l.dpd - {days + 1})")} END)"""


def vintages_build(day: date) -> RowCounts:
    """VintagePoint rebuilt whole as of D: every vintage at every months on book it has reached.

    One pass over the loans: each vintage's loans grouped by the months they first passed
    30 and 90 days past due, then summed up month by month here.
    """
    # By days first, by months after (see expected_loss_build).
    rows = fetch_all(
        f"""
        SELECT v.product_id, v.term, {month_start("v.disbursed_on")}, {month_start("v.passed30")},
               {month_start("v.passed90")}, SUM(v.loans), {money("SUM(v.principal)")}
        FROM (
            SELECT l.product_id, l.term, l.disbursed_on, {_first_past_sql(STAGE_2_DPD)} AS passed30,
                   {_first_past_sql(STAGE_3_DPD)} AS passed90, COUNT(*) AS loans, SUM(l.principal) AS principal
            FROM lending_loan l
            LEFT JOIN (
                SELECT loan_id, MIN(CASE WHEN dpd > {STAGE_2_DPD} THEN "on" END) AS first{STAGE_2_DPD},
                       MIN(CASE WHEN dpd > {STAGE_3_DPD} THEN "on" END) AS first{STAGE_3_DPD}
                FROM lending_buckethistory WHERE dpd > {STAGE_2_DPD} AND "on" <= {date_param("d")}
                GROUP BY loan_id
            ) h ON h.loan_id = l.id
            WHERE l.disbursed_on <= {date_param("d")}
            GROUP BY 1, 2, 3, 4, 5
        ) v
        GROUP BY 1, 2, 3, 4, 5
        """,
        {"d": day},
    )
    sizes: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, Decimal("0.00")])
    # ever[(vintage, months on book)] = [loans 30+, principal 30+, loans 90+, principal 90+]
    ever: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, Decimal("0.00"), 0, Decimal("0.00")])
    for product_id, term, origination, passed30, passed90, loans, principal in rows:
        vintage = (product_id, term, _date(origination))
        sizes[vintage][0] += loans
        sizes[vintage][1] += _dec(principal)
        for column, passed in ((0, passed30), (2, passed90)):
            if passed is not None:
                point = ever[(*vintage, _months_between(vintage[2], _date(passed)))]
                point[column] += loans
                point[column + 1] += _dec(principal)
    points = []
    for (product_id, term, origination), (loans, principal) in sizes.items():
        totals = [0, Decimal("0.00"), 0, Decimal("0.00")]
        for months_on_book in range(_months_between(origination, day) + 1):
            reached = ever.get((product_id, term, origination, months_on_book))
            if reached:
                totals = [a + b for a, b in zip(totals, reached, strict=True)]
            points.append((origination, product_id, term, months_on_book, loans, principal, *totals))
    # Plain executemany: the ORM's bulk_create spent 0.5 s a night preparing a few thousand
    # rows of Decimals, most of the demo seed's nights on SQLite.
    execute("DELETE FROM dashboards_vintagepoint", [])
    with connection.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO dashboards_vintagepoint (origination_month, product_id, term, months_on_book, loans, principal,
                                                 ever30_loans, ever30_principal, ever90_loans, ever90_principal)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            points,
        )
    return {"vintage_points": len(points)}


# SQLite's driver hands back floats and ISO strings where Postgres gives Decimal and date.
def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(Decimal("0.01"))


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# -- collections -----------------------------------------------------------------------


def lender_day(day: date) -> tuple[datetime, datetime]:
    """The business day as an instant range [start, end) in the lender's time zone."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def _grouped(queryset: QuerySet[Any], collector: str, stage: str, **measures: Any) -> Iterable[dict[str, Any]]:
    """`measures` of `queryset` grouped by its collector and stage expressions."""
    return (
        queryset.annotate(_collector=F(collector), _stage=Coalesce(F(stage), Value("")))
        .values("_collector", "_stage")
        .annotate(**measures)
        .order_by()
    )


def collections_build(day: date) -> RowCounts:
    """CollectionsDay for D, per collector and stage (see the model for each measure).

    Cases count under their assigned collector and stage; attempts under the user who
    made them (none: a reminder or the system) and their case's stage; promises under
    the user who recorded them; recoveries (posted, unreversed money value-dated D, net
    of what could not be applied) under the collector and stage of the loan's case open
    on D, the latest opened if a case closed and another opened that day.
    """
    start, end = lender_day(day)
    rows: dict[tuple[int | None, str], dict[str, Any]] = defaultdict(lambda: {"recovered": Decimal("0.00")})

    def add(groups: Iterable[dict[str, Any]]) -> None:
        for group in groups:
            row = rows[(group.pop("_collector"), group.pop("_stage"))]
            for measure, value in group.items():
                row[measure] = row.get(measure, 0) + (value or 0)

    open_at_close = Q(opened_on__lte=day) & (Q(closed_on__isnull=True) | Q(closed_on__gt=day))
    cases = Case.objects.all()
    add(_grouped(cases.filter(open_at_close), "assigned_to_id", "stage", cases_open=Count("id")))
    add(_grouped(cases.filter(opened_on=day), "assigned_to_id", "stage", cases_opened=Count("id")))
    add(_grouped(cases.filter(closed_on=day), "assigned_to_id", "stage", cases_closed=Count("id")))
    attempts = ContactAttempt.objects.filter(allowed=True, at__gte=start, at__lt=end)
    reached = Q(outcome__in=REACHING_OUTCOMES)
    add(
        _grouped(
            attempts,
            "actor_id",
            "case__stage",
            attempts=Count("id"),
            right_party_contacts=Count("id", filter=reached),
        )
    )
    promises = Promise.objects.all()
    add(_grouped(promises.filter(made_on=day), "created_by_id", "case__stage", promises_made=Count("id")))
    decided = promises.filter(decided_on=day)
    add(
        _grouped(
            decided,
            "created_by_id",
            "case__stage",
            promises_kept=Count("id", filter=Q(status=Promise.Status.KEPT)),
            promises_broken=Count("id", filter=Q(status=Promise.Status.BROKEN)),
        )
    )
    for collector, stage, recovered in _recovered(day):
        rows[(collector, stage)]["recovered"] += _dec(recovered)
    CollectionsDay.objects.filter(business_date=day).delete()
    CollectionsDay.objects.bulk_create(
        CollectionsDay(business_date=day, collector_id=collector, stage=stage, **measures)
        for (collector, stage), measures in rows.items()
    )
    return {"collections_rows": len(rows)}


def _recovered(day: date) -> list[tuple[Any, ...]]:
    """Money value-dated D on loans of a case open on D, by that case's collector and stage.

    Walked from the cases (a few percent of the book) to their loans' payments of D by
    the (loan, value date) index; a loan in two cases open on D (one closed, the next
    opened that day) counts once, under the later case.
    """
    d = date_param("d")
    return fetch_all(
        f"""
        WITH case_loan AS (
            SELECT c.id AS case_id, c.assigned_to_id, c.stage, cl.loan_id
            FROM collections_case c JOIN collections_case_loans cl ON cl.case_id = c.id
            WHERE c.opened_on <= {d} AND (c.closed_on IS NULL OR c.closed_on >= {d})
        ), latest AS (
            SELECT loan_id, MAX(case_id) AS case_id FROM case_loan GROUP BY loan_id
        )
        SELECT cl.assigned_to_id, cl.stage, {money("SUM(p.amount - p.unapplied)")}
        FROM latest
        JOIN case_loan cl ON cl.case_id = latest.case_id AND cl.loan_id = latest.loan_id
        JOIN lending_payment p ON p.loan_id = latest.loan_id AND p.value_date = {d} AND p.status = 'posted'
        GROUP BY cl.assigned_to_id, cl.stage
        """,
        {"d": day},
    )


# -- compliance ------------------------------------------------------------------------


def compliance_build(day: date) -> RowCounts:
    """ComplianceDay for D: counts by measure, rule and channel (see the model).

    `blocked`: attempts of any source the gate refused, by rule and channel.
    `complaint`: complaints received, by category (in `rule`) and channel.
    `cease_request`: cease-communication restrictions recorded.
    `reminder_sent` / `reminder_blocked`: the reminder dispatcher's channel attempts
    allowed (one per reminder sent) and refused (by rule), by channel.
    `quiet_hours_contact`: `quiet_hours_contacts`; its row is written even at zero, so
    the page shows a zero that was counted, not a missing row.
    """
    start, end = lender_day(day)
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    M = ComplianceDay.Measure
    attempts = ContactAttempt.objects.filter(at__gte=start, at__lt=end)
    for source_rule, channel, allowed, source, n in (
        attempts.values_list("rule", "channel", "allowed", "source").annotate(n=Count("id")).order_by()
    ):
        if not allowed:
            counts[(M.BLOCKED, source_rule, channel)] += n
        if source == ContactAttempt.Source.REMINDER:
            measure = M.REMINDER_SENT if allowed else M.REMINDER_BLOCKED
            counts[(measure, "" if allowed else source_rule, channel)] += n
    complaints = Complaint.objects.filter(received_at__gte=start, received_at__lt=end)
    for category, channel, n in complaints.values_list("category", "channel").annotate(n=Count("id")).order_by():
        counts[(M.COMPLAINT, category, channel)] += n
    ceases = ContactRestriction.objects.filter(
        kind=ContactRestriction.Kind.CEASE, created_at__gte=start, created_at__lt=end
    ).count()
    if ceases:
        counts[(M.CEASE_REQUEST, "", "")] = ceases
    quiet = quiet_hours_contacts(start, end)
    for channel, n in quiet.items():
        counts[(M.QUIET_HOURS_CONTACT, "", channel)] = n
    if not quiet:
        counts[(M.QUIET_HOURS_CONTACT, "", "")] = 0
    ComplianceDay.objects.filter(business_date=day).delete()
    ComplianceDay.objects.bulk_create(
        ComplianceDay(business_date=day, measure=measure, rule=rule, channel=channel, count=n)
        for (measure, rule, channel), n in counts.items()
    )
    return {"compliance_rows": len(counts)}


def quiet_hours_contacts(start: datetime, end: datetime) -> dict[str, int]:
    """Allowed contacts in [start, end) inside the contacted person's quiet hours, by channel.

    Counted apart from the gate, from what the attempt row says: the borrower's time zone
    (an emergency contact has none on file; the gate uses the borrower's too), the quiet
    hours of the contact policy version in force at the attempt's instant. The gate's
    own exceptions are kept: a letter (posted, not delivered at an hour) and a contact
    the borrower consented to for that instant (not a third party).
    """
    policies = list(
        # In the gate's order (`contact_policy_in_force`), so a tie picks the same version.
        ContactPolicy.objects.order_by(*POLICY_ORDER).values_list("effective_from", "quiet_start", "quiet_end")
    )
    attempts = (
        ContactAttempt.objects.filter(allowed=True, at__gte=start, at__lt=end)
        .exclude(channel=Channel.LETTER)
        .values_list("at", "channel", "borrower_id", "borrower__timezone", "contact_point_id", "emergency_contact_id")
    )
    found: dict[str, int] = defaultdict(int)
    for at, channel, borrower_id, zone, point_id, emergency_id in attempts.iterator():
        policy = next((p for p in policies if p[0] <= at), None)
        if policy is None or not in_daily_window(at.astimezone(ZoneInfo(zone)).time(), policy[1], policy[2]):
            continue
        if emergency_id is None and _consented(borrower_id, point_id, at):
            continue
        found[channel] += 1
    return dict(found)


def _consented(borrower_id: int, point_id: int | None, at: datetime) -> bool:
    return QuietHoursConsent.objects.filter(
        Q(contact_point__isnull=True) | Q(contact_point_id=point_id),
        borrower_id=borrower_id,
        starts_at__lte=at,
        ends_at__gt=at,
    ).exists()


# -- the step --------------------------------------------------------------------------


def recount_days(day: date) -> list[date]:
    """D and the closed days among the DASHBOARDS_RECOUNT_DAYS - 1 before it, oldest first."""
    earlier = ClosedDay.objects.filter(
        business_date__gte=day - timedelta(days=settings.DASHBOARDS_RECOUNT_DAYS - 1), business_date__lt=day
    ).values_list("business_date", flat=True)
    return [*sorted(earlier), day]


def _recounted(build: Callable[[date], RowCounts]) -> Callable[[date], RowCounts]:
    """`build` run for each of `recount_days(D)`; its row counts summed over those days."""

    def part(day: date) -> RowCounts:
        rows: RowCounts = {}
        for each in recount_days(day):
            for name, n in build(each).items():
                rows[name] = rows.get(name, 0) + n
        return rows

    part.__name__ = part.__qualname__ = f"{build.__name__}_recounted"
    part.__doc__ = f"`{build.__name__}` for D and the closed days of the week before it."
    return part


collections_recount = _recounted(collections_build)
compliance_recount = _recounted(compliance_build)

PARTS: list[Callable[[date], RowCounts]] = [
    roll_rates_and_expected_loss,
    vintages_build,
    collections_recount,
    compliance_recount,
]


def parts(_: date) -> list[tuple[int, int]]:
    """One chunk per part, by its index in PARTS."""
    return [(k, k) for k in range(len(PARTS))]


def part_run(day: date, lo: int, _hi: int) -> RowCounts:
    _hash_the_groups()
    return PARTS[lo](day)


def _hash_the_groups() -> None:
    """Let Postgres group the whole book in memory (this transaction only).

    The planner cannot tell that a stage or a month groups a million loans into a few
    hundred rows, so with the default work_mem it sorts them on disk first: 1.1 s of the
    1.4 s expected loss took at 100,000 loans.
    """
    if is_postgres():
        execute("SET LOCAL work_mem = '256MB'", [])
        execute("SET LOCAL jit = off", [])


AGGREGATES_STEP = Step(STEP_NAME, parts, part_run)


def aggregates_rebuild(day: date, *, last_closed: date) -> RowCounts:
    """Rebuild closed day `day`'s aggregates outside the night (`fill_dashboards`).

    Every part for the last closed day; for an earlier day only what its own dated facts
    decide: roll rates, collections and compliance. Expected loss and vintages read the
    loans as they stand now, which would put today's book under an old date.
    """
    if day > last_closed:
        raise ValueError(f"{day} is not closed; the last closed day is {last_closed}.")
    with transaction.atomic():
        _hash_the_groups()
        if day == last_closed:
            rows: RowCounts = {}
            for part in PARTS:
                rows.update(part(day))
            return rows
        return {"roll_rate_rows": roll_rates_build(day), **collections_build(day), **compliance_build(day)}
