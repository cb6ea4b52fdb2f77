"""The demo book: a small seed is believable, conserves money, and the same seed gives the same book."""

from __future__ import annotations

import hashlib
import importlib
import io
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Sum

from riskdesk import demo, nightly
from riskdesk.core import roles
from riskdesk.core.models import AuditLog, ClosedDay, JobRun
from riskdesk.lending.models import (
    Allocation,
    AutodebitFailure,
    Bucket,
    BucketHistory,
    CreditLine,
    GracePolicy,
    IncidentWindow,
    Installment,
    Loan,
    Payment,
)
from riskdesk.riskmodels import training
from riskdesk.riskmodels.models import BandChange, LimitPolicy, ModelMonitor, ModelStatusChange, ModelVersion
from tests.lending.test_conservation import assert_book_balances
from tests.riskmodels.specs import tiny_spec

SEED_TODAY = date(2026, 11, 23)
SMALL_SEED = ["--seed", "12", "--borrowers", "40", "--months", "4"]


def seed_small() -> str:
    out = io.StringIO()
    with demo.business_date_pinned(SEED_TODAY), scorecards_from_the_tiny_spec():
        call_command("seed_demo", *SMALL_SEED, verbosity=0, stdout=out)
    return out.getvalue()


@contextmanager
def scorecards_from_the_tiny_spec() -> Iterator[None]:
    """Stand in for training, which refuses a 4-month book of 40 borrowers (too few matured months).

    The demo still promotes v1 and scores with it every night from CHAMPION_DAYS_BEFORE_END
    (60 here) days before yesterday, and v2 beside it from 20 days before: the nightly
    chain's scoring, monitoring and limit actions run for real on the small book.
    """

    def train(*, as_of: date, note: str = "", actor: object = None, **_: object) -> ModelVersion:
        spec = tiny_spec()
        return ModelVersion.objects.create(
            version=ModelVersion.objects.count() + 1,
            base_score=Decimal("600"),
            base_odds=Decimal("50"),
            pdo=Decimal("20"),
            training_start=date(2026, 7, 31),
            training_end=date(2026, 8, 31),
            oot_start=date(2026, 9, 30),
            oot_end=date(2026, 9, 30),
            spec=spec,
            metrics={"oot": {"auc": 0.75, "ks": 0.4}},
            training_distribution={
                "score": [0.2] * 5,
                "features": {f["code"]: [1 / len(f["bins"])] * len(f["bins"]) for f in spec["features"]},
            },
            note=note,
            trained_by=actor,
        )

    with (
        patch.object(training, "model_version_train", train),
        patch.object(demo, "CHAMPION_DAYS_BEFORE_END", 60),
        patch.object(demo, "CHALLENGER_DAYS_BEFORE_END", 20),
    ):
        yield


@pytest.fixture(scope="module")
def seeded(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[str]:
    """One small seed shared by the module, rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        yield seed_small()
        transaction.set_rollback(True)


@pytest.fixture
def book(seeded: str, db: None) -> str:
    return seeded


def book_digest() -> str:
    """Every balance, installment, payment, allocation and bucket change, by natural keys (not ids)."""
    loan_key = ("borrower__national_id", "disbursed_on", "product__code", "principal")
    parts = [
        Loan.objects.order_by(*loan_key).values_list(
            *loan_key,
            "term",
            "method",
            "status",
            "outstanding_principal",
            "overdue_amount",
            "penalty_accrued",
            "dpd",
            "bucket",
            "in_grace",
            "paid_off_on",
        ),
        Installment.objects.order_by(*(f"loan__{k}" for k in loan_key), "seq").values_list(
            "loan__borrower__national_id",
            "loan__disbursed_on",
            "seq",
            "due_date",
            "principal_due",
            "interest_due",
            "principal_paid",
            "interest_paid",
            "penalty_accrued",
            "penalty_paid",
            "grace_end",
            "pi_settled_on",
        ),
        Payment.objects.order_by("idempotency_key").values_list(
            "idempotency_key", "amount", "value_date", "kind", "channel", "status", "unapplied"
        ),
        Allocation.objects.order_by("payment__idempotency_key", "seq").values_list(
            "payment__idempotency_key", "seq", "penalty", "interest", "principal"
        ),
        BucketHistory.objects.order_by("loan__borrower__national_id", "loan__disbursed_on", "on").values_list(
            "loan__borrower__national_id", "loan__disbursed_on", "on", "from_bucket", "to_bucket", "dpd"
        ),
        CreditLine.objects.order_by("borrower__national_id").values_list(
            "borrower__national_id", "borrower__name", "limit", "status", "freeze_reason", "frozen_on", "unfreeze_on"
        ),
        AutodebitFailure.objects.order_by("loan__borrower__national_id", "attempted_on", "cause").values_list(
            "loan__borrower__national_id", "attempted_on", "amount", "cause"
        ),
    ]
    digest = hashlib.sha256()
    for rows in parts:
        for row in rows:
            digest.update(repr(tuple(str(v) for v in row)).encode())
    return digest.hexdigest()


def test_seed_books_loans_in_more_than_one_bucket(book: str) -> None:
    assert Loan.objects.count() > 40
    assert Loan.objects.filter(status=Loan.Status.ACTIVE).values("bucket").distinct().count() > 1
    assert Loan.objects.filter(status=Loan.Status.PAID_OFF).exists()


def test_seed_posts_payments_of_every_kind(book: str) -> None:
    kinds = set(Payment.objects.values_list("kind", flat=True))
    assert kinds == set(Payment.Kind.values)


def test_seed_freezes_at_least_one_credit_line(book: str) -> None:
    assert CreditLine.objects.filter(status=CreditLine.Status.FROZEN).exists()


def test_every_simulated_day_is_closed_with_a_job_run_per_step(book: str) -> None:
    last = SEED_TODAY - timedelta(days=1)
    first = ClosedDay.objects.order_by("business_date").first().business_date
    days = (last - first).days + 1
    assert first <= Loan.objects.order_by("disbursed_on").first().disbursed_on
    assert ClosedDay.objects.count() == days
    assert ClosedDay.objects.order_by("-business_date").first().business_date == last
    for step in nightly.STEPS:
        assert JobRun.objects.filter(step=step.name, status=JobRun.Status.DONE).count() == days


def test_every_payment_is_allocated_or_unapplied_to_the_cent(book: str) -> None:
    for payment in Payment.objects.filter(status=Payment.Status.POSTED):
        allocated = payment.allocations.aggregate(
            total=Sum("penalty", default=Decimal(0))
            + Sum("interest", default=Decimal(0))
            + Sum("principal", default=Decimal(0))
        )["total"]
        assert allocated + payment.unapplied == payment.amount, payment.idempotency_key


def test_the_seeded_book_passes_audit_book(book: str) -> None:
    assert_book_balances()


def test_every_loan_schedules_exactly_its_principal(book: str) -> None:
    for loan in Loan.objects.annotate(scheduled=Sum("installments__principal_due")):
        assert loan.scheduled == loan.principal, loan.pk


def test_lender_outage_costs_no_penalty_inside_its_incident_window(book: str) -> None:
    window = IncidentWindow.objects.get()
    outage_loans = AutodebitFailure.objects.filter(cause=AutodebitFailure.Cause.LENDER_OUTAGE).values("loan")
    assert outage_loans.exists()
    due_inside = Installment.objects.filter(loan__in=outage_loans, due_date__range=(window.start, window.end))
    assert due_inside.exists()
    assert not due_inside.filter(penalty_accrued__gt=0).exists()


def test_a_product_has_a_second_grace_policy_version(book: str) -> None:
    versions = GracePolicy.objects.filter(product__code="jiebei").order_by("effective_from")
    assert [p.grace_days for p in versions] == [3, 5]


def test_the_last_day_ends_with_collections_work_through_the_gate(book: str) -> None:
    from riskdesk.collections.models import Case, ContactAttempt, Reminder

    open_cases = Case.objects.filter(status="open")
    assert open_cases.exists()
    assert set(open_cases.filter(assigned_to__isnull=False).values_list("assigned_to__username", flat=True)) <= {
        "collector1",
        "collector2",
    }
    attempts = list(ContactAttempt.objects.all())
    assert attempts and all(a.policy_id and a.rule_results for a in attempts)
    # Only today's reminders are left to the dispatcher; the simulated past is history.
    assert not Reminder.objects.filter(status="planned", planned_for__lt=SEED_TODAY).exists()


def test_the_closed_days_have_collections_activity_for_the_dashboards(book: str) -> None:
    from django.db.models import Sum

    from riskdesk.collections.models import Promise, Reminder
    from riskdesk.dashboards.models import CollectionsDay, ComplianceDay

    # The desk works the last days before each close, so the nights count calls, promises and reminders.
    assert CollectionsDay.objects.aggregate(n=Sum("attempts"))["n"] > 0
    assert ComplianceDay.objects.filter(measure="blocked").aggregate(n=Sum("count"))["n"] > 0
    assert ComplianceDay.objects.filter(measure="reminder_sent").aggregate(n=Sum("count"))["n"] > 0
    assert Reminder.objects.filter(status="sent", sent_at__date__lt=SEED_TODAY).exists()
    assert Promise.objects.exclude(status="pending").exists()  # the nights marked some kept or broken


def test_the_limit_policy_is_in_force_from_the_first_day(book: str) -> None:
    policy = LimitPolicy.objects.get()
    first = ClosedDay.objects.order_by("business_date").first().business_date

    assert (policy.effective_from, policy.enabled, policy.reduce_on_bands) == (first, True, "DE")
    assert (policy.reduce_by, policy.minimum_limit) == (Decimal("0.300"), Decimal("1000.00"))
    assert AuditLog.objects.filter(action="limit_policy.create", actor__username="admin").exists()


def test_v1_is_promoted_and_scores_the_last_months_with_v2_beside_it(book: str) -> None:
    last = SEED_TODAY - timedelta(days=1)
    v1, v2 = ModelVersion.objects.order_by("version")
    assert (v1.status, v2.status) == ("champion", "challenger")
    promotion = ModelStatusChange.objects.get(model_version=v1)
    assert (promotion.to_status, promotion.actor.username) == ("champion", "admin")
    assert promotion.comment
    # trained and promoted on the simulated days (noon, lender time), not when the seed ran
    lender = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    champion_noon = datetime.combine(last - timedelta(days=60), time(12), tzinfo=lender)
    assert v1.trained_at == promotion.at == champion_noon
    assert v2.trained_at == datetime.combine(last - timedelta(days=20), time(12), tzinfo=lender)
    # v1 monitored every night from its promotion on, v2 from its training on
    v1_nights = ModelMonitor.objects.filter(model_version=v1).values_list("business_date", flat=True)
    v2_nights = ModelMonitor.objects.filter(model_version=v2).values_list("business_date", flat=True)
    assert (min(v1_nights), max(v1_nights), len(v1_nights)) == (last - timedelta(days=60), last, 61)
    assert (min(v2_nights), max(v2_nights), len(v2_nights)) == (last - timedelta(days=20), last, 21)
    # the champion's bands are on the open loans, and their changes kept
    open_loans = Loan.objects.filter(status=Loan.Status.ACTIVE)
    assert open_loans.exists() and not open_loans.filter(risk_band="").exists()
    assert BandChange.objects.filter(model_version=v1).exists()
    assert not BandChange.objects.filter(model_version=v2).exists()


def test_a_book_too_young_to_train_on_says_so(db: None) -> None:
    book = demo.DemoBook(seed=3, borrowers=2, months=2)
    book.admin = User.objects.get_or_create(username="admin")[0]

    # Before any book: no month end has matured.
    assert book._model_trained(as_of=date(2025, 1, 1), note="v1") is None

    assert book.report.models == [
        "no model trained on 2025-01-01: 0 matured month ends; training needs at least 4 (3 held out of time), "
        "each followed by 60 closed days."
    ]


def test_if_empty_leaves_a_seeded_book_alone(book: str) -> None:
    loans = Loan.objects.count()
    out = io.StringIO()
    call_command("seed_demo", "--if-empty", verbosity=0, stdout=out)
    assert Loan.objects.count() == loans
    assert "not seeding" in out.getvalue()


def reinstall_migration_defaults() -> None:
    """flush empties every table: put back the buckets and default grace policy migration 0002 installs."""
    migration = importlib.import_module("riskdesk.lending.migrations.0002_default_buckets_and_grace_policy")
    migration.forwards(apps, None)


def test_the_same_seed_gives_the_same_book(book: str) -> None:
    first = book_digest()
    if connection.vendor == "postgresql":
        # Django's foreign keys are deferred; TRUNCATE refuses tables with pending checks.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    assert not Bucket.objects.exists()
    reinstall_migration_defaults()

    seed_small()

    assert book_digest() == first


def test_demo_logins_creates_each_role_once(db: None) -> None:
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    call_command("demo_logins", stdout=out)

    for login in demo.DEMO_LOGINS:
        user = User.objects.get(username=login.username)
        assert list(user.groups.values_list("name", flat=True)) == [login.role]
        assert authenticate(username=login.username, password=login.password) == user
        assert login.password in out.getvalue()
    assert User.objects.count() == len(demo.DEMO_LOGINS)
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert {login.role for login in demo.DEMO_LOGINS} == set(roles.ALL_ROLES)
