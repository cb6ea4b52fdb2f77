"""Retention: periods per record kind over legal minimums, the nightly purge, its audit rows.

The business date is pinned to 2026-11-23 (tests/conftest.py). The purge of that night keeps
a contact attempt of 2023-11-23 (1,096 days: three years and their leap day) and purges one
of 2023-11-22; recording references go after 731 days, audit rows after 1,827. Attempts and
recordings go per borrower, once all their collection activity is that old; audit rows about a
borrower go once their relationship has been over that long (riskdesk.collections.retention).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from riskdesk import nightly
from riskdesk.collections.models import (
    Agency,
    AgencyPlacement,
    Case,
    Complaint,
    ContactAttempt,
    Dispute,
    FieldVisit,
    Promise,
)
from riskdesk.collections.retention import RETENTION_STEP, expired_attempts
from riskdesk.core import retention
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.jobs import step_run
from riskdesk.core.models import AuditLog, ClosedDay, JobRun, RetentionPolicy
from riskdesk.core.retention import BelowLegalMinimum, Kind, cutoff, minimum_days, retention_policy_create
from riskdesk.dashboards.aggregates import AGGREGATES_STEP, recount_days
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, CreditLine, Loan, Payment, Product
from tests.conftest import TODAY, client_for

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
API = "/api/v1/retention-policies/"


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def attempt(borrower: Borrower, when: datetime, *, case: Case | None = None, recording: str = "") -> ContactAttempt:
    return ContactAttempt.objects.create(
        borrower=borrower,
        case=case,
        channel="call",
        source="collector",
        at=when,
        allowed=True,
        outcome="no_answer",
        recording_ref=recording,
    )


def case_for(
    borrower: Borrower, status: str = "closed", opened_on: date = date(2023, 1, 1), closed_on: date = date(2023, 6, 1)
) -> Case:
    return Case.objects.create(
        borrower=borrower,
        status=status,
        worst_bucket="M2",
        opened_on=opened_on,
        updated_on=closed_on,
        closed_on=closed_on if status == "closed" else None,
    )


def on_file_since(national_id: str, created: date = date(2010, 1, 1)) -> Borrower:
    """A borrower on file since `created`, without the register service's audit row of today."""
    borrower = Borrower.objects.create(name="李四", national_id=national_id)
    Borrower.objects.filter(pk=borrower.pk).update(created_at=at(created))
    return borrower


def old_audit_row(when: datetime, action: str = "old.thing", entity: object = None) -> int:
    """An audit row dated `when` (about `entity`, a model instance): inserted by hand, since the model stamps `at`."""
    entity_type, entity_id = (entity._meta.label_lower, str(entity.pk)) if entity is not None else ("x", "1")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_auditlog (at, action, entity_type, entity_id, reason) VALUES (%s, %s, %s, %s, '')"
            + (" RETURNING id" if connection.vendor == "postgresql" else ""),
            [
                when if connection.vendor == "postgresql" else when.astimezone(ZoneInfo("UTC")).replace(tzinfo=None),
                action,
                entity_type,
                entity_id,
            ],
        )
        return cursor.fetchone()[0] if connection.vendor == "postgresql" else cursor.lastrowid


def night() -> JobRun:
    return step_run(RETENTION_STEP, TODAY)


# -- minimums and versions ------------------------------------------------------------------


def test_the_legal_minimums_are_years_with_their_leap_days() -> None:
    assert {kind: minimum_days(kind) for kind in Kind.values} == {
        "contact_attempts": 1096,
        "recording_references": 731,
        "audit_log": 1827,
    }
    assert retention.AUDIT_LOG_TRIGGER_MINIMUM_DAYS == minimum_days(Kind.AUDIT_LOG)


def test_a_jurisdiction_setting_raises_a_minimum_but_never_lowers_one(settings: pytest.FixtureRequest) -> None:
    settings.RISKDESK_RETENTION_MINIMUM_DAYS = {"recording_references": 1096, "audit_log": 30}

    assert minimum_days(Kind.RECORDING_REFERENCES) == 1096
    assert minimum_days(Kind.AUDIT_LOG) == 1827


def test_the_default_versions_hold_the_minimums() -> None:
    assert set(RetentionPolicy.objects.values_list("kind", "keep_days", "effective_from")) == {
        ("contact_attempts", 1096, date(2000, 1, 1)),
        ("recording_references", 731, date(2000, 1, 1)),
        ("audit_log", 1827, date(2000, 1, 1)),
    }


def test_the_cutoff_is_midnight_starting_the_first_kept_day() -> None:
    assert cutoff(TODAY, 1096) == at(date(2023, 11, 23), 0)


def test_a_period_under_the_minimum_is_refused_on_keep_days(users: dict[str, User]) -> None:
    with pytest.raises(BelowLegalMinimum) as refused:
        retention_policy_create(
            kind="contact_attempts", keep_days=1095, effective_from=date(2026, 12, 1), actor=users["admin"]
        )

    assert (refused.value.status, refused.value.code, refused.value.field) == (400, "below_legal_minimum", "keep_days")
    assert refused.value.extra == {"minimum": 1096}
    assert "at least 1096 days" in refused.value.message
    assert RetentionPolicy.objects.count() == 3


def test_a_version_is_added_with_its_audit_row(users: dict[str, User]) -> None:
    policy = retention_policy_create(
        kind="contact_attempts", keep_days=2000, effective_from=date(2026, 12, 1), reason="litigation hold"
    )

    row = AuditLog.objects.get(action="retention_policy.create", entity_id=str(policy.pk))
    assert row.before == {"keep_days": 1096, "effective_from": "2000-01-01"}
    assert row.after == {"kind": "contact_attempts", "keep_days": 2000, "effective_from": "2026-12-01"}
    assert row.reason == "litigation hold"


def test_a_version_starts_after_the_last_closed_day() -> None:
    ClosedDay.objects.create(business_date=date(2026, 11, 22))

    with pytest.raises(DomainError) as refused:
        retention_policy_create(kind="audit_log", keep_days=2000, effective_from=date(2026, 11, 22))

    assert (refused.value.status, refused.value.code, refused.value.field) == (
        422,
        "date_in_closed_past",
        "effective_from",
    )


def test_a_second_version_on_the_same_date_is_a_conflict() -> None:
    retention_policy_create(kind="audit_log", keep_days=2000, effective_from=date(2026, 12, 1))

    with pytest.raises(Conflict):
        retention_policy_create(kind="audit_log", keep_days=3000, effective_from=date(2026, 12, 1))


# -- the purge of contact attempts and recordings -----------------------------------------------


def test_an_attempt_one_day_inside_the_period_is_kept_and_one_day_outside_is_purged(borrower: Borrower) -> None:
    inside = attempt(borrower, at(date(2023, 11, 23), 0, 0))
    outside = attempt(on_file_since("110101199202021234"), at(date(2023, 11, 22), 23, 59))

    run = night()

    assert list(ContactAttempt.objects.values_list("pk", flat=True)) == [inside.pk]
    assert not ContactAttempt.objects.filter(pk=outside.pk).exists()
    assert run.rows == {"recording_references_purged": 0, "contact_attempts_purged": 1, "audit_log_purged": 0}


def test_a_recording_reference_is_blanked_after_its_period_and_its_attempt_stays(borrower: Borrower) -> None:
    inside = attempt(borrower, at(date(2024, 11, 22), 0, 0), recording="rec-inside")  # 731 days before
    outside = attempt(on_file_since("110101199202021234"), at(date(2024, 11, 21), 23, 59), recording="rec-outside")

    run = night()

    assert dict(ContactAttempt.objects.values_list("pk", "recording_ref")) == {inside.pk: "rec-inside", outside.pk: ""}
    assert run.rows["recording_references_purged"] == 1
    assert run.rows["contact_attempts_purged"] == 0


def test_the_minimum_holds_when_a_policy_row_is_forced_below_it(borrower: Borrower) -> None:
    RetentionPolicy.objects.create(kind="contact_attempts", keep_days=30, effective_from=date(2026, 1, 1))
    RetentionPolicy.objects.create(kind="recording_references", keep_days=1, effective_from=date(2026, 1, 1))
    recent = attempt(borrower, at(date(2025, 1, 1)), recording="rec-1")

    run = night()

    assert ContactAttempt.objects.get(pk=recent.pk).recording_ref == "rec-1"
    assert run.rows == {"recording_references_purged": 0, "contact_attempts_purged": 0, "audit_log_purged": 0}


def test_a_longer_period_in_force_keeps_older_attempts(borrower: Borrower) -> None:
    retention_policy_create(kind="contact_attempts", keep_days=2000, effective_from=date(2026, 11, 1))
    kept = attempt(borrower, at(date(2021, 6, 2), 0, 0))  # 2,000 days before 2026-11-23
    gone = attempt(on_file_since("110101199202021234"), at(date(2021, 6, 1), 23, 59))  # 2,001 days before

    night()

    assert list(ContactAttempt.objects.values_list("pk", flat=True)) == [kept.pk]
    assert gone.pk not in set(ContactAttempt.objects.values_list("pk", flat=True))


def test_open_matters_keep_their_attempts_whatever_their_age(borrower: Borrower) -> None:
    old = at(date(2020, 1, 1))
    settled = on_file_since("110101199202021234")
    closed_case = attempt(settled, old, case=case_for(settled), recording="rec-closed")
    open_case = attempt(borrower, old, case=case_for(borrower, "open"), recording="rec-open")
    disputing = services.borrower_register(name="王五", national_id="110101199303031234", phones=[], email="")
    complaining = services.borrower_register(name="赵六", national_id="110101199404041234", phones=[], email="")
    Dispute.objects.create(borrower=disputing, opened_at=old)
    Complaint.objects.create(
        borrower=complaining, channel="call", category="harassment", received_at=old, description="calls"
    )
    disputed = attempt(disputing, old, recording="rec-dispute")
    complained = attempt(complaining, old)

    night()

    assert set(ContactAttempt.objects.values_list("pk", "recording_ref")) == {
        (open_case.pk, "rec-open"),
        (disputed.pk, "rec-dispute"),
        (complained.pk, ""),
    }
    assert not ContactAttempt.objects.filter(pk=closed_case.pk).exists()


def test_a_resolved_dispute_no_longer_holds_its_attempts(borrower: Borrower) -> None:
    old = at(date(2020, 1, 1))
    Dispute.objects.create(borrower=borrower, opened_at=old, resolved_at=at(date(2020, 2, 1)))
    attempt(borrower, old)

    assert expired_attempts(cutoff(TODAY, 1096)).count() == 1


def test_a_promise_and_a_field_visit_outlive_their_purged_attempt(borrower: Borrower, users: dict[str, User]) -> None:
    case = case_for(borrower)
    old = attempt(borrower, at(date(2020, 1, 1)), case=case)
    promise = Promise.objects.create(
        case=case, attempt=old, amount=Decimal("500.00"), made_on=date(2020, 1, 1), due_on=date(2020, 1, 10)
    )
    visit = FieldVisit.objects.create(
        case=case,
        planned_at=at(date(2020, 1, 1)),
        address="somewhere",
        reason="unreachable",
        requested_by=users["collections_supervisor"],
        attempt=old,
        status="done",
    )

    night()

    promise.refresh_from_db()
    visit.refresh_from_db()
    assert (promise.attempt_id, promise.amount, visit.attempt_id, visit.status) == (
        None,
        Decimal("500.00"),
        None,
        "done",
    )
    assert not ContactAttempt.objects.filter(pk=old.pk).exists()


@pytest.mark.parametrize(
    ("newest", "kept"),
    [(at(date(2023, 11, 23), 0, 0), True), (at(date(2023, 11, 22), 23, 59), False)],
)
def test_a_borrowers_attempts_go_together_once_the_newest_is_past_the_period(
    borrower: Borrower, newest: datetime, kept: bool
) -> None:
    oldest = attempt(borrower, at(date(2019, 5, 1)))
    latest = attempt(borrower, newest)

    run = night()

    assert set(ContactAttempt.objects.values_list("pk", flat=True)) == ({oldest.pk, latest.pk} if kept else set())
    assert run.rows["contact_attempts_purged"] == (0 if kept else 2)


def _case_worked(borrower: Borrower, on: date) -> None:
    case_for(borrower, opened_on=on - timedelta(days=60), closed_on=on)


def _promise_made(borrower: Borrower, on: date) -> None:
    case = Case.objects.get(borrower=borrower, opened_on=date(2019, 5, 1))
    Promise.objects.create(case=case, amount=Decimal("300.00"), made_on=on, due_on=on + timedelta(days=7))


def _dispute_resolved(borrower: Borrower, on: date) -> None:
    Dispute.objects.create(borrower=borrower, opened_at=at(date(2019, 6, 1)), resolved_at=at(on, 0, 0))


def _complaint_resolved(borrower: Borrower, on: date) -> None:
    Complaint.objects.create(
        borrower=borrower,
        channel="call",
        category="harassment",
        received_at=at(date(2019, 6, 1)),
        status="resolved",
        resolved_at=at(on, 0, 0),
        description="calls",
    )


def _agency_recalled(borrower: Borrower, on: date) -> None:
    agency = Agency.objects.create(name="Agency A", reviewed_on=date(2019, 1, 1))
    AgencyPlacement.objects.create(
        case=Case.objects.get(borrower=borrower, opened_on=date(2019, 5, 1)),
        agency=agency,
        borrower_notified_at=at(date(2019, 6, 1)),
        placed_on=date(2019, 6, 10),
        recalled_on=on,
    )


@pytest.mark.parametrize(
    "activity", [_case_worked, _promise_made, _dispute_resolved, _complaint_resolved, _agency_recalled]
)
@pytest.mark.parametrize(("on", "kept"), [(date(2023, 11, 23), True), (date(2023, 11, 22), False)])
def test_collection_activity_on_the_first_kept_day_keeps_the_borrowers_older_attempts(
    borrower: Borrower, activity: Callable[[Borrower, date], None], on: date, kept: bool
) -> None:
    """12 CFR 1006.100: three years after the LAST collection activity, not after each attempt's own date."""
    old_case = case_for(borrower, opened_on=date(2019, 5, 1), closed_on=date(2019, 12, 1))
    activity(borrower, on)
    old = attempt(borrower, at(date(2019, 6, 1)), case=old_case)

    run = night()

    assert ContactAttempt.objects.filter(pk=old.pk).exists() is kept
    assert run.rows["contact_attempts_purged"] == (0 if kept else 1)


def test_an_open_case_keeps_the_attempts_of_the_borrowers_older_closed_case(borrower: Borrower) -> None:
    closed = case_for(borrower, opened_on=date(2019, 5, 1), closed_on=date(2019, 12, 1))
    case_for(borrower, "open", opened_on=date(2020, 3, 1))
    old = attempt(borrower, at(date(2019, 6, 1)), case=closed, recording="rec-old")

    run = night()

    assert ContactAttempt.objects.get(pk=old.pk).recording_ref == "rec-old"
    assert run.rows == {"recording_references_purged": 0, "contact_attempts_purged": 0, "audit_log_purged": 0}


def test_a_recording_is_kept_while_its_borrower_was_contacted_inside_its_period(borrower: Borrower) -> None:
    recorded = attempt(borrower, at(date(2024, 11, 21), 23, 59), recording="rec-1")
    attempt(borrower, at(date(2024, 11, 22), 0, 0))  # 731 days before: inside the recordings' period
    alone = attempt(on_file_since("110101199202021234"), at(date(2024, 11, 21), 23, 59), recording="rec-2")

    run = night()

    assert dict(ContactAttempt.objects.filter(pk__in=[recorded.pk, alone.pk]).values_list("pk", "recording_ref")) == {
        recorded.pk: "rec-1",
        alone.pk: "",
    }
    assert run.rows["recording_references_purged"] == 1


def test_one_audit_row_per_kind_purged_by_the_nightly_job(borrower: Borrower) -> None:
    attempt(borrower, at(date(2020, 1, 1)), recording="rec-1")
    attempt(borrower, at(date(2020, 1, 2)))

    night()

    rows = {row.after["kind"]: row for row in AuditLog.objects.filter(action="retention.purge")}
    assert set(rows) == {"recording_references", "contact_attempts"}
    purged = rows["contact_attempts"]
    assert (purged.actor, purged.entity_type) == (None, "core.retentionpolicy")
    assert purged.after == {
        "kind": "contact_attempts",
        "count": 2,
        "cutoff": "2023-11-23T00:00:00+08:00",
        "keep_days": 1096,
        "business_date": "2026-11-23",
    }
    assert rows["recording_references"].after["count"] == 1


def test_a_rerun_purges_nothing_more_and_writes_no_audit_row(borrower: Borrower) -> None:
    attempt(borrower, at(date(2020, 1, 1)))
    first = night()
    audit_rows = AuditLog.objects.count()

    again = night()
    direct = retention.retention_purge(kind=Kind.CONTACT_ATTEMPTS, day=TODAY)

    assert (again.pk, again.rows, again.attempts) == (first.pk, first.rows, 1)
    assert direct == 0
    assert AuditLog.objects.count() == audit_rows


def test_the_night_runs_retention_after_the_dashboards() -> None:
    names = [step.name for step in nightly.STEPS]

    assert names.index("core.retention") == names.index(AGGREGATES_STEP.name) + 1


def test_the_dashboards_recount_never_reaches_a_purged_day() -> None:
    """Aggregates count attempts once; raw attempts purged later must not be recounted to zero."""
    for k in range(1, 30):
        ClosedDay.objects.create(business_date=TODAY - timedelta(days=k))

    oldest_recounted = recount_days(TODAY)[0]

    shortest = min(minimum_days(kind) for kind in (Kind.CONTACT_ATTEMPTS, Kind.RECORDING_REFERENCES))
    assert settings.DASHBOARDS_RECOUNT_DAYS < shortest
    assert oldest_recounted == TODAY - timedelta(days=settings.DASHBOARDS_RECOUNT_DAYS - 1)
    assert at(oldest_recounted, 0) > cutoff(TODAY, shortest)


# -- the audit log ------------------------------------------------------------------------------------------


def test_audit_rows_past_the_period_are_purged_and_younger_ones_kept() -> None:
    inside = old_audit_row(at(date(2021, 11, 22), 0, 0))  # 1,827 days before 2026-11-23
    outside = old_audit_row(at(date(2021, 11, 21), 23, 59))

    run = night()

    assert run.rows["audit_log_purged"] == 1
    assert AuditLog.objects.filter(pk=inside).exists()
    assert not AuditLog.objects.filter(pk=outside).exists()
    row = AuditLog.objects.get(action="retention.purge")
    assert row.after["kind"] == "audit_log" and row.after["count"] == 1


def ended_relationship(product: Product, national_id: str, *, ended_on: date) -> dict[str, object]:
    """A borrower whose one loan was paid off on `ended_on` and whose line is closed; no row newer."""
    borrower = on_file_since(national_id)
    line = CreditLine.objects.create(borrower=borrower, limit=Decimal("5000.00"), status="closed")
    loan = Loan.objects.create(
        credit_line=line,
        borrower=borrower,
        product=product,
        principal=Decimal("1000.00"),
        term=30,
        method="bullet",
        disbursed_on=ended_on - timedelta(days=30),
        daily_rate=product.daily_rate,
        penalty_multiplier=Decimal("1.5"),
        penalty_base="principal",
        status="paid_off",
        paid_off_on=ended_on,
        outstanding_principal=Decimal("0.00"),
        overdue_amount=Decimal("0.00"),
        penalty_accrued=Decimal("0.00"),
    )
    payment = Payment.objects.create(
        loan=loan,
        amount=Decimal("1000.00"),
        value_date=ended_on,
        kind="payoff",
        channel="app",
        idempotency_key=f"payoff-{national_id}",
        request_hash="h",
        unapplied=Decimal("0.00"),
    )
    return {"borrower": borrower, "line": line, "loan": loan, "payment": payment}


def audit_rows_about(records: dict[str, object], when: datetime) -> set[int]:
    return {old_audit_row(when, f"{name}.thing", record) for name, record in records.items()}


@pytest.mark.parametrize(
    ("ended_on", "kept"),
    [(date(2021, 11, 22), True), (date(2021, 11, 21), False)],  # 1,827 and 1,828 days before 2026-11-23
)
def test_a_borrowers_audit_rows_go_the_period_after_the_relationship_ended(
    product: Product, ended_on: date, kept: bool
) -> None:
    """AML: five years after the business relationship ends, not five years after each row."""
    records = ended_relationship(product, "110101199505051234", ended_on=ended_on)
    rows = audit_rows_about(records, at(date(2016, 3, 1)))
    unrelated = old_audit_row(at(date(2016, 3, 1)))

    run = night()

    assert set(AuditLog.objects.filter(pk__in=rows | {unrelated}).values_list("pk", flat=True)) == (
        rows if kept else set()
    )
    assert run.rows["audit_log_purged"] == (1 if kept else 5)


@pytest.mark.parametrize("live", ["line_open", "loan_active", "written_off_case_open", "revealed_since"])
def test_a_live_relationship_keeps_every_audit_row_about_the_borrower(product: Product, live: str) -> None:
    records = ended_relationship(product, "110101199505051234", ended_on=date(2018, 1, 1))
    rows = audit_rows_about(records, at(date(2016, 3, 1)))
    borrower, line, loan = records["borrower"], records["line"], records["loan"]
    if live == "line_open":
        CreditLine.objects.filter(pk=line.pk).update(status="active")
    elif live == "loan_active":
        Loan.objects.filter(pk=loan.pk).update(status="active", paid_off_on=None, outstanding_principal=1000)
    elif live == "written_off_case_open":
        Loan.objects.filter(pk=loan.pk).update(status="written_off", paid_off_on=None)
        case_for(borrower, "open", opened_on=date(2017, 6, 1))
    else:
        rows.add(old_audit_row(at(date(2021, 11, 22), 0, 0), "pii.reveal", borrower))

    run = night()

    assert set(AuditLog.objects.filter(pk__in=rows).values_list("pk", flat=True)) == rows
    assert run.rows["audit_log_purged"] == 0


def test_an_audit_row_about_a_purged_attempt_goes_by_its_own_date(borrower: Borrower) -> None:
    """The attempt went under its own period; the row about it has no borrower left to wait for."""
    gone = attempt(on_file_since("110101199202021234"), at(date(2016, 3, 1)))
    row = old_audit_row(at(date(2016, 3, 1)), "contact.attempt", gone)

    run = night()

    assert not ContactAttempt.objects.filter(pk=gone.pk).exists()
    assert not AuditLog.objects.filter(pk=row).exists()
    assert (run.rows["contact_attempts_purged"], run.rows["audit_log_purged"]) == (1, 1)


needs_postgres = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql", reason="the trigger is Postgres's"
)


@needs_postgres
def test_a_plain_delete_of_an_old_audit_row_is_still_refused() -> None:
    row = old_audit_row(at(date(2010, 1, 1)))

    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        AuditLog.objects.filter(pk=row).delete()

    assert AuditLog.objects.filter(pk=row).exists()


@needs_postgres
def test_the_trigger_refuses_a_purge_of_rows_younger_than_the_minimum() -> None:
    young = old_audit_row(at(date(2025, 1, 1)))
    too_late = datetime(2026, 1, 1, tzinfo=SHANGHAI)  # a cutoff under the five-year minimum

    with pytest.raises(DatabaseError, match="DELETE refused"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL riskdesk.retention_purge = 'on'")
            cursor.execute("SELECT set_config('riskdesk.retention_cutoff', %s, true)", [too_late.isoformat()])
            cursor.execute("DELETE FROM core_auditlog WHERE id = %s", [young])

    assert AuditLog.objects.filter(pk=young).exists()


@needs_postgres
def test_the_trigger_refuses_a_purge_of_rows_newer_than_its_cutoff() -> None:
    old = old_audit_row(at(date(2015, 6, 1)))

    with pytest.raises(DatabaseError, match="DELETE refused"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL riskdesk.retention_purge = 'on'")
            cursor.execute("SELECT set_config('riskdesk.retention_cutoff', %s, true)", ["2015-01-01T00:00:00+08:00"])
            cursor.execute("DELETE FROM core_auditlog WHERE id = %s", [old])

    assert AuditLog.objects.filter(pk=old).exists()


@needs_postgres
def test_an_update_of_the_audit_log_is_refused_even_during_a_purge() -> None:
    old = old_audit_row(at(date(2010, 1, 1)))

    with pytest.raises(DatabaseError, match="UPDATE refused"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL riskdesk.retention_purge = 'on'")
            cursor.execute("SELECT set_config('riskdesk.retention_cutoff', %s, true)", ["2015-01-01T00:00:00+08:00"])
            cursor.execute("UPDATE core_auditlog SET reason = 'edited' WHERE id = %s", [old])

    assert AuditLog.objects.get(pk=old).reason == ""


# -- the API ---------------------------------------------------------------------------------------


@pytest.fixture
def api_as(users: dict[str, User]) -> Callable[[str], APIClient]:
    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(users[role])
        return client

    return make


def test_the_api_lists_the_versions_with_their_minimums(api_as: Callable[[str], APIClient]) -> None:
    response = api_as("admin").get(API)

    assert response.status_code == 200
    assert [(r["kind"], r["keep_days"], r["minimum_days"]) for r in response.json()["results"]] == [
        ("audit_log", 1827, 1827),
        ("contact_attempts", 1096, 1096),
        ("recording_references", 731, 731),
    ]


def test_the_api_adds_a_version(api_as: Callable[[str], APIClient], users: dict[str, User]) -> None:
    body = {"kind": "recording_references", "effective_from": "2026-12-01", "keep_days": 1096, "reason": "Reg F"}

    response = api_as("admin").post(API, body, format="json")

    assert response.status_code == 201, response.content
    assert {k: response.json()[k] for k in ("kind", "effective_from", "keep_days", "minimum_days", "created_by")} == {
        "kind": "recording_references",
        "effective_from": "2026-12-01",
        "keep_days": 1096,
        "minimum_days": 731,
        "created_by": users["admin"].pk,
    }


def test_the_api_refuses_a_period_under_the_minimum_with_a_400_on_keep_days(
    api_as: Callable[[str], APIClient],
) -> None:
    body = {"kind": "audit_log", "effective_from": "2026-12-01", "keep_days": 365}

    response = api_as("admin").post(API, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["minimum"]) == ("below_legal_minimum", 1827)
    assert error["fields"] == {
        "keep_days": ["Audit Log must be kept at least 1827 days (the legal minimum); 365 is less."]
    }
    assert RetentionPolicy.objects.count() == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "emails", "effective_from": "2026-12-01", "keep_days": 2000}, "kind"),
        ({"kind": "audit_log", "effective_from": "2026-13-01", "keep_days": 2000}, "effective_from"),
        ({"kind": "audit_log", "effective_from": "2026-12-01", "keep_days": -1}, "keep_days"),
        ({"kind": "audit_log", "effective_from": "2026-12-01", "keep_days": 10**9}, "keep_days"),
        ({"kind": "audit_log", "effective_from": "2026-12-01", "keep_days": "many"}, "keep_days"),
    ],
)
def test_the_api_refuses_bad_input_with_a_400_on_its_field(
    api_as: Callable[[str], APIClient], body: dict[str, object], field: str
) -> None:
    response = api_as("admin").post(API, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert RetentionPolicy.objects.count() == 3


@pytest.mark.parametrize("effective_from", ["0001-01-01", "1999-12-31", "9999-12-31"])
def test_the_api_refuses_an_effective_date_out_of_range_with_a_400_on_it(
    api_as: Callable[[str], APIClient], effective_from: str
) -> None:
    body = {"kind": "audit_log", "effective_from": effective_from, "keep_days": 2000}

    response = api_as("admin").post(API, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "date_out_of_range"
    assert error["fields"] == {
        "effective_from": ["A retention period's effective date must be between 2000-01-01 and 2126-10-30."]
    }
    assert RetentionPolicy.objects.count() == 3


@pytest.mark.parametrize("role", ["risk_officer", "collections_supervisor", "collector"])
def test_only_the_admin_role_reads_or_sets_retention(api_as: Callable[[str], APIClient], role: str) -> None:
    client = api_as(role)

    assert client.get(API).status_code == 403
    body = {"kind": "audit_log", "effective_from": "2026-12-01", "keep_days": 2000}
    assert client.post(API, body, format="json").status_code == 403
    assert RetentionPolicy.objects.count() == 3


# -- the admin ---------------------------------------------------------------------------------------


def test_the_admin_refuses_a_period_under_the_minimum_on_its_field(users: dict[str, User]) -> None:
    form = {"kind": "contact_attempts", "effective_from": "2026-12-01", "keep_days": "365", "reason": ""}

    response = client_for(users["admin"]).post(reverse("admin:core_retentionpolicy_add"), form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "keep_days": ["Contact Attempts must be kept at least 1096 days (the legal minimum); 365 is less."]
    }
    assert RetentionPolicy.objects.count() == 3


@pytest.mark.parametrize("effective_from", ["0001-01-01", "9999-12-31"])
def test_the_admin_refuses_an_effective_date_out_of_range_on_its_field(
    users: dict[str, User], effective_from: str
) -> None:
    form = {"kind": "audit_log", "effective_from": effective_from, "keep_days": "2000", "reason": ""}

    response = client_for(users["admin"]).post(reverse("admin:core_retentionpolicy_add"), form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "effective_from": ["A retention period's effective date must be between 2000-01-01 and 2126-10-30."]
    }
    assert RetentionPolicy.objects.count() == 3


def test_the_admin_adds_a_version_through_the_service(users: dict[str, User]) -> None:
    form = {"kind": "contact_attempts", "effective_from": "2026-12-01", "keep_days": "1500", "reason": "longer"}

    response = client_for(users["admin"]).post(reverse("admin:core_retentionpolicy_add"), form)

    assert response.status_code == 302
    policy = RetentionPolicy.objects.get(keep_days=1500)
    assert (policy.created_by, policy.effective_from) == (users["admin"], date(2026, 12, 1))
    assert AuditLog.objects.filter(action="retention_policy.create", entity_id=str(policy.pk)).exists()


def test_a_saved_version_cannot_be_changed_in_the_admin(users: dict[str, User]) -> None:
    policy = RetentionPolicy.objects.get(kind="audit_log")
    client = client_for(users["admin"])

    client.post(reverse("admin:core_retentionpolicy_change", args=[policy.pk]), {"keep_days": "9999"})

    policy.refresh_from_db()
    assert policy.keep_days == 1827


def test_the_admin_previews_tonights_purge_under_a_draft(borrower: Borrower, users: dict[str, User]) -> None:
    attempt(borrower, at(date(2022, 1, 1)), recording="rec-1")  # 1,787 days before
    attempt(on_file_since("110101199202021234"), at(date(2020, 1, 1)))
    old_audit_row(at(date(2015, 1, 1)))

    response = client_for(users["admin"]).get(
        reverse("admin:core_retentionpolicy_preview"), {"kind": "contact_attempts", "keep_days": "1800"}
    )

    assert response.status_code == 200
    counts = {row["row"].kind: (row["row"].keep_days, row["row"].count) for row in response.context["rows"]}
    assert counts == {
        "recording_references": (731, 1),
        "contact_attempts": (1800, 1),
        "audit_log": (1827, 1),
    }
    assert ContactAttempt.objects.count() == 2  # a preview purges nothing


def test_the_admin_preview_refuses_a_draft_under_the_minimum(users: dict[str, User]) -> None:
    response = client_for(users["admin"]).get(
        reverse("admin:core_retentionpolicy_preview"), {"kind": "audit_log", "keep_days": "100"}
    )

    assert response.status_code == 200
    assert response.context["rows"] is None
    assert list(response.context["form"].errors) == ["keep_days"]


def test_a_collector_may_not_open_the_retention_admin(users: dict[str, User]) -> None:
    client = client_for(users["collector"])

    assert client.get(reverse("admin:core_retentionpolicy_changelist")).status_code in (302, 403)
    assert client.get(reverse("admin:core_retentionpolicy_preview")).status_code in (302, 403)


def test_the_purge_leaves_the_book_alone(make_loan: Callable[..., Loan]) -> None:
    """The purge never touches the book: a loan and its schedule survive the night."""
    loan = make_loan()

    night()

    assert Loan.objects.filter(pk=loan.pk).exists()
