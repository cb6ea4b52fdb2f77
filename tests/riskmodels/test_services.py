"""The registry's rules: one champion, a comment for every decision, no retired champion, audit and history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from riskdesk import nightly
from riskdesk.core.errors import Conflict, DomainError, NotPermitted
from riskdesk.core.models import AuditLog, JobRun
from riskdesk.riskmodels import services
from riskdesk.riskmodels.models import LimitPolicy, ModelStatusChange, ModelVersion
from tests.conftest import run_concurrently
from tests.riskmodels.specs import tiny_spec

TRAINED_METRICS: dict[str, Any] = {
    "iv": {"dpd": 1.2, "days_since_payment": 0.4, "segment": 0.3, "product": 0.05, "term": 0.01},
    "selected": ["segment", "dpd", "days_since_payment", "product"],
    "train": {"loans": 4000, "bads": 320, "bad_rate": 0.08, "auc": 0.81, "ks": 0.48, "gini": 0.62},
    "oot": {"loans": 1500, "bads": 105, "bad_rate": 0.07, "auc": 0.79, "ks": 0.45, "gini": 0.58},
    "segments": {
        "to_30": {
            "train": {"loans": 3800, "bads": 250, "bad_rate": 0.0658, "auc": 0.78, "ks": 0.44, "gini": 0.56},
            "oot": {"loans": 1420, "bads": 80, "bad_rate": 0.0563, "auc": 0.76, "ks": 0.41, "gini": 0.52},
        },
        "over_30": {
            "train": {"loans": 200, "bads": 70, "bad_rate": 0.35, "auc": 0.66, "ks": 0.27, "gini": 0.32},
            "oot": {"loans": 80, "bads": 25, "bad_rate": 0.3125, "auc": None, "ks": None, "gini": None},
        },
    },
    "calibration": [
        {"band": "A", "loans": 900, "predicted": 0.012, "observed": 0.01},
        {"band": "D", "loans": 100, "predicted": 0.21, "observed": 0.25},
    ],
    "by_month": [
        {"month": "2026-03-31", "sample": "train", "loans": 1300, "bads": 100, "auc": 0.8, "ks": 0.47, "gini": 0.6},
        {"month": "2026-06-30", "sample": "oot", "loans": 1500, "bads": 105, "auc": 0.79, "ks": 0.45, "gini": 0.58},
    ],
    "horizon_days": {"to_30": 60, "over_30": 30},
}


def version_made(number: int, status: str = ModelVersion.Status.CHALLENGER, **fields: Any) -> ModelVersion:
    """A version from the tiny hand-written spec, with training figures, without training."""
    return ModelVersion.objects.create(
        version=number,
        status=status,
        base_score=Decimal("600"),
        base_odds=Decimal("50"),
        pdo=Decimal("20"),
        training_start=date(2026, 1, 31),
        training_end=date(2026, 4, 30),
        oot_start=date(2026, 5, 31),
        oot_end=date(2026, 7, 31),
        spec=tiny_spec(),
        metrics=fields.pop("metrics", TRAINED_METRICS),
        training_distribution=fields.pop(
            "training_distribution",
            {
                "score": [0.1, 0.2, 0.3, 0.25, 0.15],
                "features": {
                    "segment": [0.9, 0.1, 0.0, 0.0],
                    "dpd": [0.7, 0.2, 0.1, 0.0, 0.0],
                    "days_since_payment": [0.8, 0.15, 0.0, 0.05],
                    "product": [0.85, 0.15, 0.0, 0.0],
                },
            },
        ),
        note=fields.pop("note", f"v{number}"),
        **fields,
    )


@pytest.fixture
def admin(users: dict[str, User]) -> User:
    return users["admin"]


def test_promoting_a_challenger_demotes_the_champion_to_a_challenger(admin: User) -> None:
    old = version_made(1, ModelVersion.Status.CHAMPION)
    new = version_made(2)

    services.model_version_promote(model_version=new, comment="better OOT KS", actor=admin)

    assert ModelVersion.objects.get(pk=new.pk).status == "champion"
    assert ModelVersion.objects.get(pk=old.pk).status == "challenger"
    assert ModelVersion.objects.filter(status="champion").count() == 1


def test_promotion_keeps_a_status_change_and_an_audit_row_for_each_version(admin: User) -> None:
    old = version_made(1, ModelVersion.Status.CHAMPION)
    new = version_made(2)

    services.model_version_promote(model_version=new, comment="better OOT KS", actor=admin)

    changes = ModelStatusChange.objects.order_by("id")
    assert [(c.model_version_id, c.from_status, c.to_status, c.comment, c.actor) for c in changes] == [
        (old.pk, "champion", "challenger", "better OOT KS", admin),
        (new.pk, "challenger", "champion", "better OOT KS", admin),
    ]
    audit = AuditLog.objects.filter(entity_type="riskmodels.modelversion").order_by("id")
    assert [(a.action, a.entity_id, a.before, a.after, a.reason) for a in audit] == [
        ("model_version.demote", str(old.pk), {"status": "champion"}, {"status": "challenger"}, "better OOT KS"),
        ("model_version.promote", str(new.pk), {"status": "challenger"}, {"status": "champion"}, "better OOT KS"),
    ]


def test_the_first_promotion_needs_no_champion_to_demote(admin: User) -> None:
    first = version_made(1)

    services.model_version_promote(model_version=first, comment="first model", actor=admin)

    assert ModelVersion.objects.get(pk=first.pk).status == "champion"
    assert ModelStatusChange.objects.count() == 1


@pytest.mark.parametrize("comment", ["", "   "])
def test_a_decision_without_a_comment_is_refused_on_the_comment_field(admin: User, comment: str) -> None:
    version = version_made(1)

    with pytest.raises(DomainError) as refused:
        services.model_version_promote(model_version=version, comment=comment, actor=admin)

    assert (refused.value.code, refused.value.field, refused.value.status) == ("comment_required", "comment", 422)
    with pytest.raises(DomainError) as refused:
        services.model_version_retire(model_version=version, comment=comment, actor=admin)
    assert refused.value.field == "comment"
    assert ModelVersion.objects.get(pk=version.pk).status == "challenger"
    assert not ModelStatusChange.objects.exists()


def test_the_champion_cannot_be_retired(admin: User) -> None:
    champion = version_made(1, ModelVersion.Status.CHAMPION)

    with pytest.raises(Conflict) as refused:
        services.model_version_retire(model_version=champion, comment="old", actor=admin)

    assert refused.value.code == "champion_cannot_retire"
    assert refused.value.status == 409
    assert refused.value.message == "The champion cannot be retired: promote another model first."
    assert ModelVersion.objects.get(pk=champion.pk).status == "champion"


def test_retiring_a_challenger_records_why(admin: User) -> None:
    version = version_made(1)

    services.model_version_retire(model_version=version, comment="PSI 0.31, superseded", actor=admin)

    assert ModelVersion.objects.get(pk=version.pk).status == "retired"
    change = ModelStatusChange.objects.get()
    assert (change.from_status, change.to_status, change.comment) == ("challenger", "retired", "PSI 0.31, superseded")
    assert AuditLog.objects.get(action="model_version.retire").reason == "PSI 0.31, superseded"


def test_a_retired_version_cannot_be_promoted_or_retired_again(admin: User) -> None:
    version = version_made(1, ModelVersion.Status.RETIRED)

    with pytest.raises(Conflict) as promoted:
        services.model_version_promote(model_version=version, comment="bring it back", actor=admin)
    with pytest.raises(Conflict) as retired:
        services.model_version_retire(model_version=version, comment="again", actor=admin)

    assert (promoted.value.code, retired.value.code) == ("model_retired", "already_retired")


def test_promoting_the_champion_again_is_a_conflict(admin: User) -> None:
    champion = version_made(1, ModelVersion.Status.CHAMPION)

    with pytest.raises(Conflict) as refused:
        services.model_version_promote(model_version=champion, comment="again", actor=admin)

    assert refused.value.code == "already_champion"


def test_no_promotion_while_tonights_scoring_runs(admin: User) -> None:
    version = version_made(1)
    JobRun.objects.create(step="riskmodels.scoring", business_date=date(2026, 11, 22), status="running")

    with pytest.raises(Conflict) as refused:
        services.model_version_promote(model_version=version, comment="now", actor=admin)

    assert (refused.value.code, refused.value.status) == ("scoring_unfinished", 409)
    assert "Close of day for 2026-11-22 is scoring" in refused.value.message
    assert refused.value.extra == {"business_date": "2026-11-22"}
    assert ModelVersion.objects.get(pk=version.pk).status == "challenger"


def test_no_promotion_after_a_failed_scoring_night_until_it_is_finished(admin: User) -> None:
    version = version_made(1)
    JobRun.objects.create(step="riskmodels.scoring", business_date=date(2026, 11, 21), status="done")
    failed = JobRun.objects.create(step="riskmodels.scoring", business_date=date(2026, 11, 22), status="failed")

    with pytest.raises(Conflict) as refused:
        services.model_version_promote(model_version=version, comment="now", actor=admin)

    assert refused.value.code == "scoring_unfinished"
    assert "finish close of day for 2026-11-22 first" in refused.value.message
    failed.status = "done"
    failed.save()
    assert services.model_version_promote(model_version=version, comment="now", actor=admin).status == "champion"


@pytest.mark.parametrize("role", ["risk_officer", "collections_supervisor", "collector"])
def test_only_an_admin_decides(users: dict[str, User], role: str) -> None:
    version = version_made(1)

    with pytest.raises(NotPermitted):
        services.model_version_promote(model_version=version, comment="mine", actor=users[role])
    with pytest.raises(NotPermitted):
        services.model_version_retire(model_version=version, comment="mine", actor=users[role])


# -- the limit policy ---------------------------------------------------------------------


def policy_args(**overrides: Any) -> dict[str, Any]:
    return {
        "effective_from": date(2026, 12, 1),
        "enabled": True,
        "reduce_on_bands": "DE",
        "reduce_by": Decimal("0.3"),
        "minimum_limit": Decimal("1000.00"),
        "note": "cut 30 % on D-E",
        **overrides,
    }


def test_a_limit_policy_is_created_with_its_audit_row(admin: User) -> None:
    policy = services.limit_policy_create(**policy_args(reduce_on_bands="ED"), actor=admin)

    assert (policy.reduce_on_bands, policy.reduce_by, policy.minimum_limit) == ("DE", Decimal("0.3"), Decimal("1000"))
    assert policy.created_by == admin
    audit = AuditLog.objects.get(action="limit_policy.create")
    assert audit.after == {
        "effective_from": "2026-12-01",
        "enabled": True,
        "reduce_on_bands": "DE",
        "reduce_by": "0.3",
        "minimum_limit": "1000.00",
        "note": "cut 30 % on D-E",
    }


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"reduce_on_bands": ""}, "reduce_on_bands", "invalid_bands"),
        ({"reduce_on_bands": "DF"}, "reduce_on_bands", "invalid_bands"),
        ({"reduce_on_bands": "dd"}, "reduce_on_bands", "invalid_bands"),
        ({"reduce_on_bands": "DD"}, "reduce_on_bands", "invalid_bands"),
        ({"reduce_by": Decimal("0")}, "reduce_by", "invalid_share"),
        ({"reduce_by": Decimal("1")}, "reduce_by", "invalid_share"),
        ({"reduce_by": Decimal("-0.1")}, "reduce_by", "invalid_share"),
        ({"reduce_by": Decimal("0.3333")}, "reduce_by", "invalid_share"),
        ({"minimum_limit": Decimal("-1.00")}, "minimum_limit", "invalid_amount"),
        ({"minimum_limit": Decimal("0.001")}, "minimum_limit", "invalid_amount"),
        ({"note": "x" * 201}, "note", "note_too_long"),
    ],
)
def test_a_limit_policy_out_of_bounds_names_its_field(
    admin: User, overrides: dict[str, Any], field: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        services.limit_policy_create(**policy_args(**overrides), actor=admin)

    assert (refused.value.field, refused.value.code, refused.value.status) == (field, code, 422)
    assert not LimitPolicy.objects.exists()


def test_a_limit_policy_cannot_start_in_the_closed_past(admin: User) -> None:
    nightly.close_days(as_of=date(2026, 11, 22))

    with pytest.raises(DomainError) as refused:
        services.limit_policy_create(**policy_args(effective_from=date(2026, 11, 22)), actor=admin)

    assert (refused.value.code, refused.value.field) == ("date_in_closed_past", "effective_from")
    assert services.limit_policy_create(**policy_args(effective_from=date(2026, 11, 23)), actor=admin).pk


def test_a_second_policy_on_the_same_day_is_a_conflict(admin: User) -> None:
    services.limit_policy_create(**policy_args(), actor=admin)

    with pytest.raises(Conflict) as refused:
        services.limit_policy_create(**policy_args(reduce_by=Decimal("0.5")), actor=admin)

    assert (refused.value.code, refused.value.field) == ("policy_version_exists", "effective_from")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_admins_adding_the_same_date_at_once_get_one_policy_and_conflicts(users: dict[str, User]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions")

    def create(k: int) -> None:
        services.limit_policy_create(**policy_args(note=f"admin {k}"), actor=users["admin"])

    refused = run_concurrently(create, 4)

    assert LimitPolicy.objects.count() == 1
    assert [(type(e), e.code, e.field) for e in refused] == [(Conflict, "policy_version_exists", "effective_from")] * 3


def test_only_an_admin_sets_the_limit_policy(users: dict[str, User]) -> None:
    with pytest.raises(NotPermitted):
        services.limit_policy_create(**policy_args(), actor=users["risk_officer"])
