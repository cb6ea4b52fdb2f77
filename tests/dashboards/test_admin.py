"""The LGD setting in the admin: versions added through the service, audited, never edited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from riskdesk.core.models import AuditLog, JobRun
from riskdesk.dashboards.models import LossGivenDefault
from riskdesk.lending.models import Product
from riskdesk.lending.selectors import DAY_STATE_STEP
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
ADD = "admin:dashboards_lossgivendefault_add"


def test_admin_adds_a_products_lgd_version(users: dict[str, User], product: Product) -> None:
    response = client_for(users["admin"]).post(
        reverse(ADD), {"product": product.pk, "effective_from": "2026-12-01", "lgd": "0.6", "note": "unsecured"}
    )
    assert response.status_code == 302
    version = LossGivenDefault.objects.get(product=product)
    assert (version.effective_from, version.lgd, version.created_by) == (
        date(2026, 12, 1),
        Decimal("0.6"),
        users["admin"],
    )
    assert AuditLog.objects.filter(action="loss_given_default.create", entity_id=str(version.pk)).exists()


def test_a_version_starting_on_a_closed_day_is_refused_on_the_form(users: dict[str, User]) -> None:
    JobRun.objects.create(step=DAY_STATE_STEP, business_date=date(2026, 11, 22), status=JobRun.Status.DONE)
    response = client_for(users["admin"]).post(reverse(ADD), {"effective_from": "2026-11-22", "lgd": "0.5"})
    assert response.status_code == 200
    assert "after the last closed business day (2026-11-22)" in str(response.context["adminform"].form.errors)
    assert LossGivenDefault.objects.count() == 1  # the migration's default only


def test_an_lgd_over_one_is_refused(users: dict[str, User]) -> None:
    response = client_for(users["admin"]).post(reverse(ADD), {"effective_from": "2026-12-01", "lgd": "1.2"})
    assert response.status_code == 200
    assert "lgd" in response.context["adminform"].form.errors


def test_a_saved_version_is_not_edited(users: dict[str, User]) -> None:
    version = LossGivenDefault.objects.get()
    client = client_for(users["admin"])
    client.post(
        reverse("admin:dashboards_lossgivendefault_change", args=[version.pk]),
        {"effective_from": "2000-01-01", "lgd": "0.9"},
    )
    version.refresh_from_db()
    assert version.lgd == Decimal("0.4500")


def test_a_risk_officer_cannot_add_a_version(users: dict[str, User]) -> None:
    response = client_for(users["risk_officer"]).post(reverse(ADD), {"effective_from": "2026-12-01", "lgd": "0.5"})
    assert response.status_code in (302, 403)
    assert LossGivenDefault.objects.count() == 1
