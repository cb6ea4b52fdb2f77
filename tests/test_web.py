"""The web desk's shell: login, home by role, operations, the admin site, languages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from riskdesk import nightly
from riskdesk.core import masking
from riskdesk.core.models import AuditLog, ClosedDay, JobRun
from riskdesk.lending.models import Bucket, GracePolicy, IncidentWindow, Loan, Product
from riskdesk.riskmodels.scoring import SCORING_STEP
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/loans/", "/loans/1/", "/operations/"])
def test_pages_require_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_with_password_lands_on_the_role_home(client: Client, users: dict[str, User]) -> None:
    response = client.post(reverse("login"), {"username": "collector", "password": "pw-collector"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("collections_queue")


def test_login_page_renders(client: Client, db: None) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("admin", "operations"),
        ("risk_officer", "dashboard_portfolio"),
        ("collections_supervisor", "collections_team"),
        ("collector", "collections_queue"),
    ],
)
def test_home_redirects_by_role(users: dict[str, User], role: str, target: str) -> None:
    response = client_for(users[role]).get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse(target)


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("risk_officer", 200), ("collections_supervisor", 403), ("collector", 403)]
)
def test_operations_is_for_admins_and_risk_officers(users: dict[str, User], role: str, status: int) -> None:
    assert client_for(users[role]).get(reverse("operations")).status_code == status


def test_navigation_follows_the_role(users: dict[str, User]) -> None:
    collector = client_for(users["collector"]).get(reverse("loan_search")).content.decode()
    admin = client_for(users["admin"]).get(reverse("loan_search")).content.decode()
    assert reverse("operations") not in collector and reverse("admin:index") not in collector
    assert reverse("operations") in admin and reverse("admin:index") in admin


def test_close_day_button_closes_every_open_day(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    make_loan(disbursed_on=date(2026, 11, 18))
    response = client_for(users["admin"]).post(reverse("close_day"), follow=True)
    closed = sorted(ClosedDay.objects.values_list("business_date", flat=True))
    assert closed == [date(2026, 11, d) for d in range(18, 23)]
    assert "Closed 5 days" in response.content.decode()
    assert response.context["last_closed_day"] == date(2026, 11, 22)


def test_a_step_failing_under_the_close_day_button_is_a_message_not_a_500(
    users: dict[str, User], make_loan: Callable[..., Loan], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_loan(disbursed_on=date(2026, 11, 18))

    def broken_chunk(day: date, lo: int, hi: int) -> dict[str, int]:
        raise RuntimeError("scoring broke\nsecond line")

    broken = replace(SCORING_STEP, run_chunk=broken_chunk)
    monkeypatch.setattr(nightly, "STEPS", [broken if s.name == broken.name else s for s in nightly.STEPS])

    response = client_for(users["admin"]).post(reverse("close_day"), follow=True)

    assert response.status_code == 200 and response.redirect_chain[-1][0] == reverse("operations")
    assert [str(m) for m in response.context["messages"]] == [
        f"Close of day stopped at step {SCORING_STEP.name} of 2026-11-18 (RuntimeError): scoring broke"
    ]
    assert not ClosedDay.objects.exists()
    run = JobRun.objects.get(step=SCORING_STEP.name, business_date=date(2026, 11, 18))
    assert (run.status, run.error) == ("failed", "RuntimeError: scoring broke\nsecond line")


def test_close_day_button_is_admin_only(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    make_loan(disbursed_on=date(2026, 11, 18))
    operations = client_for(users["risk_officer"]).get(reverse("operations")).content.decode()
    assert reverse("close_day") not in operations
    assert client_for(users["risk_officer"]).post(reverse("close_day")).status_code == 403
    assert not ClosedDay.objects.exists()


def test_admin_site_is_for_the_admin_role(users: dict[str, User]) -> None:
    assert client_for(users["admin"]).get(reverse("admin:index")).status_code == 200
    assert client_for(users["collector"]).get(reverse("admin:index")).status_code == 302


def test_admin_refuses_an_overlapping_incident_window(users: dict[str, User], product: Product) -> None:
    IncidentWindow.objects.create(
        product=product, start=date(2026, 11, 1), end=date(2026, 11, 5), extra_grace_days=2, reason="bank outage"
    )
    audit_rows = AuditLog.objects.count()
    response = client_for(users["admin"]).post(
        reverse("admin:lending_incidentwindow_add"),
        {"product": product.pk, "start": "2026-11-04", "end": "2026-11-08", "extra_grace_days": 3, "reason": "again"},
    )
    assert response.status_code == 200
    assert "Another incident window already covers part of these dates." in response.content.decode()
    assert IncidentWindow.objects.count() == 1
    assert AuditLog.objects.count() == audit_rows


def test_admin_adds_an_incident_window_through_the_service(users: dict[str, User], product: Product) -> None:
    response = client_for(users["admin"]).post(
        reverse("admin:lending_incidentwindow_add"),
        {"product": product.pk, "start": "2026-11-10", "end": "2026-11-12", "extra_grace_days": 3, "reason": "outage"},
    )
    assert response.status_code == 302
    window = IncidentWindow.objects.get()
    assert window.created_by == users["admin"]
    assert AuditLog.objects.filter(action="incident_window.create", entity_id=str(window.pk)).exists()


def test_admin_grace_policy_is_a_new_version_never_an_edit(users: dict[str, User], product: Product) -> None:
    client = client_for(users["admin"])
    form = {
        "product": product.pk,
        "effective_from": "2026-12-01",
        "grace_days": 5,
        "penalty_start": "grace_end",
        "arrears_tolerance": "2.00",
        "bureau_report_after_days": 30,
        "cooling_off_days": 30,
        "case_open_after_days": 0,
        "note": "longer grace",
    }
    assert client.post(reverse("admin:lending_gracepolicy_add"), form).status_code == 302
    policy = GracePolicy.objects.get(product=product)
    assert AuditLog.objects.filter(action="grace_policy.create", entity_id=str(policy.pk)).exists()
    change = client.post(reverse("admin:lending_gracepolicy_change", args=[policy.pk]), {**form, "grace_days": 9})
    policy.refresh_from_db()
    assert change.status_code == 403 and policy.grace_days == 5


def test_admin_refuses_grace_days_over_30(users: dict[str, User], product: Product) -> None:
    response = client_for(users["admin"]).post(
        reverse("admin:lending_gracepolicy_add"),
        {
            "product": product.pk,
            "effective_from": "2026-12-01",
            "grace_days": 31,
            "penalty_start": "due_date",
            "arrears_tolerance": "1.00",
            "bureau_report_after_days": 30,
            "cooling_off_days": 30,
            "case_open_after_days": 0,
        },
    )
    assert response.status_code == 200
    assert not GracePolicy.objects.filter(product=product).exists()


def _bucket_formset(rows: list[tuple[int | str, str, int, int | str]]) -> dict[str, object]:
    data: dict[str, object] = {"form-TOTAL_FORMS": len(rows), "form-INITIAL_FORMS": Bucket.objects.count()}
    for k, (pk, code, lo, hi) in enumerate(rows):
        data.update({f"form-{k}-id": pk, f"form-{k}-code": code, f"form-{k}-label": code})
        data.update({f"form-{k}-min_dpd": lo, f"form-{k}-max_dpd": hi})
    return data


def test_admin_bucket_set_must_stay_contiguous(users: dict[str, User]) -> None:
    existing = list(Bucket.objects.order_by("min_dpd"))
    rows = [(b.pk, b.code, b.min_dpd, "" if b.max_dpd is None else b.max_dpd) for b in existing]
    rows[1] = (rows[1][0], rows[1][1], 1, 29)  # M1 now ends at 29: a gap before M2 at 31
    response = client_for(users["admin"]).post(reverse("admin:lending_bucket_edit_set"), _bucket_formset(rows))
    assert response.status_code == 200
    assert "must start at 30" in response.content.decode()
    assert Bucket.objects.get(code="M1").max_dpd == 30


def test_admin_bucket_set_saves_a_contiguous_change(users: dict[str, User]) -> None:
    existing = list(Bucket.objects.order_by("min_dpd"))
    rows = [(b.pk, b.code, b.min_dpd, "" if b.max_dpd is None else b.max_dpd) for b in existing[:4]]
    rows[-1] = (rows[-1][0], "M3+", 61, "")  # the top bucket is now 61 and over
    data = _bucket_formset(rows + [(b.pk, b.code, b.min_dpd, b.max_dpd or "") for b in existing[4:]])
    for k in range(4, len(existing)):
        data[f"form-{k}-DELETE"] = "on"
    response = client_for(users["admin"]).post(reverse("admin:lending_bucket_edit_set"), data)
    assert response.status_code == 302
    assert list(Bucket.objects.order_by("min_dpd").values_list("code", flat=True)) == ["M0", "M1", "M2", "M3+"]


def test_admin_borrower_list_masks_identity(users: dict[str, User], borrower: object) -> None:
    body = client_for(users["admin"]).get(reverse("admin:lending_borrower_changelist")).content.decode()
    assert "110101199001011234" not in body and "13800138000" not in body
    assert masking.mask_national_id("110101199001011234") in body
    assert masking.mask_phone("13800138000") in body


def test_admin_audit_log_is_read_only(users: dict[str, User]) -> None:
    client = client_for(users["admin"])
    assert client.get(reverse("admin:core_auditlog_changelist")).status_code == 200
    assert client.get(reverse("admin:core_auditlog_add")).status_code == 403


def test_language_switch_renders_chinese(users: dict[str, User]) -> None:
    client = client_for(users["collector"])
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": reverse("loan_search")}, follow=True
    )
    body = response.content.decode()
    assert '<html lang="zh-hans">' in body
    assert "贷款" in body and "退出" in body


# -- landing, navigation and the operations page's progress (issue 5) ---------------------------


def _running_night() -> None:
    """A night half way through: lending done in 1.5 s, scoring running at 3 of 8 chunks."""
    from riskdesk.core.models import JobRun

    night = date(2026, 11, 22)
    JobRun.objects.create(step="lending", business_date=night, status="done", duration_ms=1500, rows={"loans": 12})
    JobRun.objects.create(step="scoring", business_date=night, status="running", chunks_total=8, chunks_done=3)


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("admin", "dashboard_portfolio"),
        ("risk_officer", "dashboard_portfolio"),
        ("collections_supervisor", "dashboard_collections"),
    ],
)
def test_the_dashboards_entry_leads_each_role_to_its_first_dashboard(
    users: dict[str, User], role: str, target: str
) -> None:
    page = client_for(users[role]).get(reverse("loan_search")).content.decode()
    assert f'<a href="{reverse(target)}"' in page


def test_a_collector_has_no_dashboards_entry(users: dict[str, User]) -> None:
    page = client_for(users["collector"]).get(reverse("collections_queue")).content.decode()
    assert "/dashboards/" not in page


def test_operations_shows_durations_readably(users: dict[str, User]) -> None:
    _running_night()
    page = client_for(users["risk_officer"]).get(reverse("operations")).content.decode()
    assert '<td class="num duration" title="1500 ms">1.5 s</td>' in page


@pytest.mark.parametrize(
    ("milliseconds", "words"),
    [
        (None, "—"),
        (850, "850 ms"),
        (12_340, "12.3 s"),
        (59_960, "1 min 00 s"),
        (245_000, "4 min 05 s"),
        (3_720_000, "1 h 02 min"),
    ],
)
def test_durations_read_in_the_largest_fitting_unit(milliseconds: int | None, words: str) -> None:
    from riskdesk.core.templatetags.desk import duration

    assert duration(milliseconds) == words


def test_operations_follows_a_running_job_by_polling_the_job_runs_api(users: dict[str, User]) -> None:
    _running_night()
    page = client_for(users["admin"]).get(reverse("operations")).content.decode()
    assert 'data-poll-url="/api/v1/operations/job-runs/"' in page
    assert 'data-status="running"' in page
    assert 'id="ops-live" class="muted small ops-live" role="status"' in page  # shown, not hidden
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert "js/operations.js" in page


def test_operations_does_not_refresh_when_nothing_runs(users: dict[str, User]) -> None:
    from riskdesk.core.models import JobRun

    JobRun.objects.create(step="lending", business_date=date(2026, 11, 22), status="done", duration_ms=10)
    page = client_for(users["admin"]).get(reverse("operations")).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert 'ops-live" hidden' in page


def test_the_job_runs_api_answers_the_web_session_with_the_running_progress(users: dict[str, User]) -> None:
    _running_night()
    response = client_for(users["risk_officer"]).get("/api/v1/operations/job-runs/")
    assert response.status_code == 200
    running = [run for run in response.json()["results"] if run["status"] == "running"]
    assert [(run["step"], run["chunks_done"], run["chunks_total"]) for run in running] == [("scoring", 3, 8)]


def test_the_job_runs_api_refuses_a_collectors_session(users: dict[str, User]) -> None:
    assert client_for(users["collector"]).get("/api/v1/operations/job-runs/").status_code == 403
