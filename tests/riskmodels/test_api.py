"""The scorecard API: shapes, roles, errors, and a loan's risk on the loan endpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import translation
from rest_framework.test import APIClient

from riskdesk.core.models import JobRun
from riskdesk.lending.models import Loan
from riskdesk.riskmodels.models import LimitPolicy, ModelMonitor, ModelPerformance, ModelVersion
from tests.riskmodels.test_services import version_made


def api_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def registry(db: None) -> tuple[ModelVersion, ModelVersion]:
    champion = version_made(1, ModelVersion.Status.CHAMPION)
    challenger = version_made(2)
    ModelMonitor.objects.create(
        model_version=champion,
        business_date=date(2026, 11, 22),
        loans=1200,
        psi=0.27,
        alert="act",
        feature_psi={"dpd": 0.31},
        band_mix={"A": 700, "E": 20},
    )
    ModelPerformance.objects.create(
        model_version=champion,
        observation_month=date(2026, 8, 31),
        loans=1000,
        bads=80,
        auc=0.774,
        ks=0.421,
        gini=0.548,
        calibration=[],
        computed_on=date(2026, 10, 30),
    )
    return champion, challenger


def test_the_list_shows_every_version_newest_first_with_oot_figures_and_latest_psi(
    users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]
) -> None:
    champion, challenger = registry

    response = api_for(users["risk_officer"]).get("/api/v1/models/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first, second = body["results"]
    assert (first["id"], first["version"], first["status"]) == (challenger.pk, 2, "challenger")
    assert first["latest_monitor"] is None
    assert second["oot"] == {"loans": 1500, "bads": 105, "bad_rate": 0.07, "auc": 0.79, "ks": 0.45, "gini": 0.58}
    assert second["latest_monitor"] == {
        "business_date": "2026-11-22",
        "loans": 1200,
        "psi": 0.27,
        "alert": "act",
        "feature_psi": {"dpd": 0.31},
        "band_mix": {"A": 700, "E": 20},
        "agreement": None,
        "agreement_within_one": None,
    }
    assert (second["base_score"], second["base_odds"], second["pdo"]) == ("600.00", "50.0000", "20.00")


def test_the_list_filters_by_status(users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]) -> None:
    body = api_for(users["admin"]).get("/api/v1/models/?status=champion").json()

    assert [row["version"] for row in body["results"]] == [1]
    bad = api_for(users["admin"]).get("/api/v1/models/?status=best")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"
    assert "status" in bad.json()["error"]["fields"]


def test_the_detail_carries_the_spec_metrics_performance_and_history(
    users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]
) -> None:
    champion, _ = registry

    body = api_for(users["risk_officer"]).get(f"/api/v1/models/{champion.pk}/").json()

    assert [f["code"] for f in body["spec"]["features"]] == ["segment", "dpd", "days_since_payment", "product"]
    assert body["metrics"]["iv"]["dpd"] == 1.2
    assert body["performance"] == [
        {
            "observation_month": "2026-08-31",
            "loans": 1000,
            "bads": 80,
            "auc": 0.774,
            "ks": 0.421,
            "gini": 0.548,
            "calibration": [],
            "computed_on": "2026-10-30",
        }
    ]
    assert body["status_changes"] == []


@pytest.mark.parametrize("role", ["collector", "collections_supervisor"])
def test_collections_staff_may_not_read_models(
    users: dict[str, User], registry: tuple[ModelVersion, ModelVersion], role: str
) -> None:
    champion, _ = registry

    for path in ("/api/v1/models/", f"/api/v1/models/{champion.pk}/"):
        response = api_for(users[role]).get(path)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


def test_anonymous_callers_get_401(db: None) -> None:
    assert APIClient().get("/api/v1/models/").status_code == 401


def test_an_unknown_version_is_404_in_the_error_shape(users: dict[str, User]) -> None:
    response = api_for(users["admin"]).get("/api/v1/models/999/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_admin_promotes_with_a_comment(users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]) -> None:
    champion, challenger = registry

    response = api_for(users["admin"]).post(
        f"/api/v1/models/{challenger.pk}/promote/", {"comment": "better OOT KS"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "champion"
    assert body["status_changes"][0] | {"at": None} == {
        "at": None,
        "from_status": "challenger",
        "to_status": "champion",
        "comment": "better OOT KS",
        "actor": "admin",
    }
    assert ModelVersion.objects.get(pk=champion.pk).status == "challenger"


def test_a_promotion_without_a_comment_is_400_on_the_comment(
    users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]
) -> None:
    _, challenger = registry

    missing = api_for(users["admin"]).post(f"/api/v1/models/{challenger.pk}/promote/", {}, format="json")
    blank = api_for(users["admin"]).post(f"/api/v1/models/{challenger.pk}/promote/", {"comment": ""}, format="json")

    assert missing.status_code == blank.status_code == 400
    assert list(missing.json()["error"]["fields"]) == ["comment"]
    assert list(blank.json()["error"]["fields"]) == ["comment"]


def test_a_whitespace_comment_is_refused_by_the_service(
    users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]
) -> None:
    _, challenger = registry

    # DRF trims "  " to "" and refuses it as blank: 400 either way, never a silent promotion.
    response = api_for(users["admin"]).post(
        f"/api/v1/models/{challenger.pk}/retire/", {"comment": "   "}, format="json"
    )

    assert response.status_code == 400
    assert ModelVersion.objects.get(pk=challenger.pk).status == "challenger"


def test_a_promotion_while_a_night_is_unscored_is_a_409_naming_it(
    users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]
) -> None:
    _, challenger = registry
    JobRun.objects.create(step="riskmodels.scoring", business_date=date(2026, 11, 22), status="failed")

    response = api_for(users["admin"]).post(
        f"/api/v1/models/{challenger.pk}/promote/", {"comment": "better OOT KS"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "scoring_unfinished",
        "message": "Scoring of 2026-11-22 did not finish: finish close of day for 2026-11-22 first.",
        "fields": {},
        "business_date": "2026-11-22",
    }
    assert ModelVersion.objects.get(pk=challenger.pk).status == "challenger"


def test_retiring_the_champion_is_a_409(users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]) -> None:
    champion, _ = registry

    response = api_for(users["admin"]).post(f"/api/v1/models/{champion.pk}/retire/", {"comment": "old"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "champion_cannot_retire",
        "message": "The champion cannot be retired: promote another model first.",
        "fields": {},
    }


def test_the_admin_retires_a_challenger(users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]) -> None:
    _, challenger = registry

    response = api_for(users["admin"]).post(
        f"/api/v1/models/{challenger.pk}/retire/", {"comment": "superseded"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "retired"


def test_a_risk_officer_may_not_promote(users: dict[str, User], registry: tuple[ModelVersion, ModelVersion]) -> None:
    _, challenger = registry

    response = api_for(users["risk_officer"]).post(
        f"/api/v1/models/{challenger.pk}/promote/", {"comment": "mine"}, format="json"
    )

    assert response.status_code == 403
    assert ModelVersion.objects.get(pk=challenger.pk).status == "challenger"


# -- the limit policy ----------------------------------------------------------------------


def test_the_admin_creates_and_lists_limit_policies(users: dict[str, User]) -> None:
    client = api_for(users["admin"])

    created = client.post(
        "/api/v1/limit-policies/",
        {"effective_from": "2026-12-01", "reduce_on_bands": "DE", "reduce_by": "0.300", "minimum_limit": "1000.00"},
        format="json",
    )

    assert created.status_code == 201
    body = created.json()
    assert body | {"id": 0, "created_at": None} == {
        "id": 0,
        "effective_from": "2026-12-01",
        "enabled": True,
        "reduce_on_bands": "DE",
        "reduce_by": "0.300",
        "minimum_limit": "1000.00",
        "note": "",
        "created_by": "admin",
        "created_at": None,
    }
    listed = client.get("/api/v1/limit-policies/").json()
    assert [row["id"] for row in listed["results"]] == [LimitPolicy.objects.get().pk]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"reduce_on_bands": "DX"}, 422, "reduce_on_bands"),
        ({"reduce_by": "1.000"}, 422, "reduce_by"),
        ({"reduce_by": "0.05"}, 201, None),
        ({"minimum_limit": "-5.00"}, 400, "minimum_limit"),
        ({"effective_from": "2026-13-01"}, 400, "effective_from"),
        ({"reduce_by": "abc"}, 400, "reduce_by"),
    ],
)
def test_limit_policy_errors_name_their_field(
    users: dict[str, User], body: dict[str, str], status: int, field: str | None
) -> None:
    valid = {"effective_from": "2026-12-01", "reduce_on_bands": "DE", "reduce_by": "0.3", "minimum_limit": "1000.00"}

    response = api_for(users["admin"]).post("/api/v1/limit-policies/", valid | body, format="json")

    assert response.status_code == status
    if field:
        assert field in response.json()["error"]["fields"]


def test_a_risk_officer_may_not_touch_the_limit_policy(users: dict[str, User]) -> None:
    assert api_for(users["risk_officer"]).get("/api/v1/limit-policies/").status_code == 403


# -- a loan's risk on the loan endpoint -------------------------------------------------------


def test_the_loan_endpoint_carries_pd_score_and_reasons_in_words(
    users: dict[str, User], make_loan: Callable[..., Loan]
) -> None:
    loan = make_loan()
    Loan.objects.filter(pk=loan.pk).update(
        risk_band="D", risk_pd=Decimal("0.183400"), risk_score=Decimal("548.20"), risk_reasons="dpd,utilisation"
    )

    body = api_for(users["risk_officer"]).get(f"/api/v1/loans/{loan.pk}/").json()

    assert (body["risk_band"], body["risk_pd"], body["risk_score"]) == ("D", "0.183400", "548.20")
    assert body["risk_reasons"] == [
        {"code": "dpd", "label": "days past due now"},
        {"code": "utilisation", "label": "share of the credit line drawn"},
    ]


def test_reasons_speak_the_callers_language(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    Loan.objects.filter(pk=loan.pk).update(risk_band="B", risk_reasons="dpd")

    # The request activates Chinese for the thread; override puts the previous language back after it.
    with translation.override("en"):
        body = api_for(users["risk_officer"]).get(f"/api/v1/loans/{loan.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()

    assert body["risk_reasons"] == [{"code": "dpd", "label": "当前逾期天数"}]


def test_an_unscored_loan_has_no_reasons(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    body = api_for(users["risk_officer"]).get(f"/api/v1/loans/{make_loan().pk}/").json()

    assert (body["risk_band"], body["risk_pd"], body["risk_score"], body["risk_reasons"]) == ("", None, None, [])


def test_the_schema_stays_valid_with_the_model_endpoints(users: dict[str, User]) -> None:
    response = api_for(users["admin"]).get("/api/v1/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/models/",
        "/api/v1/models/{version_id}/",
        "/api/v1/models/{version_id}/promote/",
        "/api/v1/models/{version_id}/retire/",
        "/api/v1/limit-policies/",
    ):
        assert path in paths
