"""The collections API, v1: cases, contact attempts through the gate, promises, policies, the bureau file.

Cases are built with the ORM (close of day is tested elsewhere). The business date is
2026-11-23; attempts are logged at real past instants, since an attempt may not be in
the future. The borrower lives in Asia/Shanghai (the default), so 23:00 there is inside
the China preset's quiet hours (22:00–08:00).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient

from riskdesk.collections.models import Case, ContactAttempt, ContactPolicy, Queue, Reminder
from riskdesk.core.models import AuditLog
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, ContactPoint, Loan, LoanMonthSnapshot

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)
Client = Callable[[str], APIClient]


@pytest.fixture(autouse=True)
def _attempts_at_chosen_instants(any_attempt_time: None) -> None:
    """These tests log attempts at instants they choose (see tests/conftest.any_attempt_time)."""


@pytest.fixture
def client_as(users: dict[str, User]) -> Client:
    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(users[role])
        return client

    return make


@pytest.fixture
def loan(make_loan: Callable[..., Loan]) -> Loan:
    return make_loan()


def open_case(borrower: Borrower, loan: Loan | None = None, **fields: Any) -> Case:
    values = {
        "stage": "mid",
        "worst_bucket": "M2",
        "max_dpd": 45,
        "overdue_amount": Decimal("1100.00"),
        "opened_on": TODAY,
        "updated_on": TODAY,
        **fields,
    }
    case = Case.objects.create(borrower=borrower, **values)
    if loan is not None:
        case.loans.add(loan)
    return case


@pytest.fixture
def case(borrower: Borrower, loan: Loan, users: dict[str, User]) -> Case:
    return open_case(borrower, loan, assigned_to=users["collector"], queue=Queue.objects.get(code="mid"))


def phone_of(borrower: Borrower) -> ContactPoint:
    return borrower.contact_points.get(kind=ContactPoint.Kind.PHONE)


def last_evening_at(hour: int) -> datetime:
    """Yesterday at `hour`:00 in Shanghai: always in the past."""
    yesterday = timezone.now().astimezone(SHANGHAI).date() - timedelta(days=1)
    return datetime(yesterday.year, yesterday.month, yesterday.day, hour, tzinfo=SHANGHAI)


def log_call(client: APIClient, case: Case, **body: Any) -> Response:
    body = {"channel": "call", "contact_point": phone_of(case.borrower).pk, "outcome": "no_answer", **body}
    return client.post(f"{API}/cases/{case.pk}/contact-attempts/", body, format="json")


# -- contact attempts ------------------------------------------------------------------------


def test_a_call_in_quiet_hours_is_refused_with_the_rule_and_the_next_allowed_time(
    client_as: Client, case: Case
) -> None:
    at = last_evening_at(23)
    response = log_call(client_as("collector"), case, at=at.isoformat())

    assert response.status_code == 422, response.content
    attempt = ContactAttempt.objects.get()
    next_morning = (at + timedelta(days=1)).replace(hour=8)
    assert attempt.next_allowed_at == next_morning
    assert response.json() == {
        "error": {
            "code": "contact_blocked",
            "message": "Quiet hours 22:00–08:00 in the contacted person's time (Asia/Shanghai).",
            "fields": {},
            "rule": "quiet_hours",
            "next_allowed_at": attempt.next_allowed_at.isoformat(),
            "attempt_id": attempt.pk,
        }
    }


def test_a_blocked_attempt_is_recorded_with_its_rule_policy_version_and_an_audit_row(
    client_as: Client, case: Case
) -> None:
    log_call(client_as("collector"), case, at=last_evening_at(23).isoformat())

    attempt = ContactAttempt.objects.get()
    assert (attempt.allowed, attempt.outcome, attempt.rule, attempt.policy.version, attempt.source) == (
        False,
        "blocked",
        "quiet_hours",
        1,
        "api",
    )
    assert AuditLog.objects.filter(entity_type="collections.contactattempt", entity_id=str(attempt.pk)).exists()


def test_an_allowed_call_is_created_with_the_rule_results_and_the_policy_version(
    client_as: Client, case: Case, users: dict[str, User]
) -> None:
    at = last_evening_at(20)
    response = log_call(client_as("collector"), case, at=at.isoformat(), note="left no message")

    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("case", "channel", "outcome", "allowed", "rule", "policy_version", "source")} == {
        "case": case.pk,
        "channel": "call",
        "outcome": "no_answer",
        "allowed": True,
        "rule": "",
        "policy_version": 1,
        "source": "api",
    }
    assert body["rule_results"]["quiet_hours"] == "ok"
    assert body["actor"] == users["collector"].pk
    assert datetime.fromisoformat(body["at"]) == at


def test_a_raw_phone_number_is_refused_as_not_a_permitted_party_and_never_stored(client_as: Client, case: Case) -> None:
    body = {"channel": "call", "phone": "13912345678", "outcome": "no_answer"}
    response = client_as("collector").post(f"{API}/cases/{case.pk}/contact-attempts/", body, format="json")

    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "not_permitted_party",
            "message": "Only the borrower's registered contact points and emergency contacts may be contacted.",
            "fields": {
                "phone": ["Only the borrower's registered contact points and emergency contacts may be contacted."]
            },
        }
    }
    assert not ContactAttempt.objects.exists()
    refusal = AuditLog.objects.get(action="contact_attempt.not_permitted_party")
    assert "13912345678" not in str(refusal.after)


def test_another_borrowers_contact_point_is_refused_as_not_a_permitted_party(client_as: Client, case: Case) -> None:
    stranger = services.borrower_register(
        name="李四", national_id="110101199202022345", phones=[{"number": "13700137000", "label": "mobile"}]
    )
    response = log_call(client_as("collector"), case, contact_point=phone_of(stranger).pk)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_permitted_party"
    assert list(response.json()["error"]["fields"]) == ["contact_point"]
    assert not ContactAttempt.objects.exists()


def test_a_call_without_a_contact_point_is_a_400_naming_the_field(client_as: Client, case: Case) -> None:
    body = {"channel": "call", "outcome": "no_answer"}
    response = client_as("collector").post(f"{API}/cases/{case.pk}/contact-attempts/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["contact_point"]


def test_an_attempt_in_the_future_is_refused(client_as: Client, case: Case) -> None:
    response = log_call(client_as("collector"), case, at=(timezone.now() + timedelta(hours=1)).isoformat())

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"at": ["An attempt cannot be logged in the future."]}


def test_the_timeline_lists_the_cases_attempts_newest_first(client_as: Client, case: Case) -> None:
    collector = client_as("collector")
    log_call(collector, case, at=last_evening_at(19).isoformat())
    log_call(collector, case, at=last_evening_at(23).isoformat())

    response = collector.get(f"{API}/cases/{case.pk}/contact-attempts/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["allowed"], row["rule"]) for row in rows] == [(False, "quiet_hours"), (True, "")]


# -- cases ------------------------------------------------------------------------------------


def test_the_case_detail_tells_the_borrowers_story_with_pii_masked_for_every_role(
    client_as: Client, case: Case, loan: Loan
) -> None:
    response = client_as("collections_supervisor").get(f"{API}/cases/{case.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["borrower"] == {
        "id": case.borrower_id,
        "name": "张**",
        "national_id": "110*************34",
        "address": "",
        "bank_card": "",
        "timezone": "Asia/Shanghai",
        "language": "zh-hans",
    }
    assert body["pii_masked"] is True
    point = phone_of(case.borrower)
    assert [row for row in body["contact_points"] if row["kind"] == "phone"] == [
        {
            "id": point.pk,
            "kind": "phone",
            "value": "138****8000",
            "label": "mobile",
            "status": "active",
            "verification": "unverified",
            "last_success_at": None,
        }
    ]
    assert [row["id"] for row in body["loans"]] == [loan.pk]
    assert (body["queue"], body["stage"], body["overdue_amount"]) == ("mid", "mid", "1100.00")
    assert body["promises"] == [] and body["open_arrangements"] == [] and body["latest_attempts"] == []


def test_the_list_filters_by_my_queue_stage_and_status(
    client_as: Client, case: Case, borrower: Borrower, users: dict[str, User]
) -> None:
    other = services.borrower_register(name="王五", national_id="110101199303033456", phones=[])
    late = open_case(other, stage="late", worst_bucket="M4", max_dpd=100)
    supervisor = client_as("collections_supervisor")

    def ids(query: str) -> list[int]:
        response = supervisor.get(f"{API}/cases/?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert sorted(ids("")) == sorted([case.pk, late.pk])
    assert ids("stage=late") == [late.pk]
    assert ids("queue=mid") == [case.pk]
    assert ids("queue=mine") == []
    assert ids("status=closed") == []
    assert ids(f"borrower={borrower.pk}") == [case.pk]
    assert client_as("collector").get(f"{API}/cases/?queue=mine").json()["results"][0]["borrower_name"] == "张**"


def test_a_bad_filter_is_a_400_naming_it(client_as: Client) -> None:
    response = client_as("collections_supervisor").get(f"{API}/cases/?stage=nope")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["stage"]


def test_next_case_hands_the_collector_the_top_case_of_their_queues(
    client_as: Client, borrower: Borrower, loan: Loan, users: dict[str, User]
) -> None:
    waiting = open_case(borrower, loan, queue=Queue.objects.get(code="mid"), priority=Decimal("50.00"))

    response = client_as("collector").post(f"{API}/cases/next/")

    assert response.status_code == 200, response.content
    assert response.json()["id"] == waiting.pk
    assert response.json()["assigned_to"] == users["collector"].pk


def test_next_case_with_nothing_waiting_is_a_404_queue_empty(client_as: Client) -> None:
    response = client_as("collector").post(f"{API}/cases/next/")

    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "queue_empty", "message": "No case is waiting in your queues.", "fields": {}}
    }


def test_a_supervisor_assigns_a_case_to_a_collector(client_as: Client, case: Case, users: dict[str, User]) -> None:
    other = User.objects.create_user(username="collector2")
    other.groups.add(users["collector"].groups.get())

    response = client_as("collections_supervisor").post(
        f"{API}/cases/{case.pk}/assign/", {"collector": other.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["assigned_to"] == other.pk


def test_a_supervisor_reassigns_cases_in_bulk(client_as: Client, case: Case, users: dict[str, User]) -> None:
    second = open_case(
        services.borrower_register(name="赵六", national_id="110101199404044567", phones=[]),
        assigned_to=users["collector"],
    )
    other = User.objects.create_user(username="collector2")
    other.groups.add(users["collector"].groups.get())

    response = client_as("collections_supervisor").post(
        f"{API}/cases/reassign/", {"cases": [case.pk, second.pk, case.pk], "collector": other.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"reassigned": 2}
    assert set(Case.objects.values_list("assigned_to", flat=True)) == {other.pk}


def test_bulk_reassignment_of_an_unknown_case_moves_none(client_as: Client, case: Case, users: dict[str, User]) -> None:
    response = client_as("collections_supervisor").post(
        f"{API}/cases/reassign/", {"cases": [case.pk, 999999], "collector": users["collector"].pk}, format="json"
    )

    assert response.status_code == 404, response.content
    assert response.json() == {
        "error": {
            "code": "case_not_found",
            "message": "No case 999999.",
            "fields": {"cases": ["No case 999999."]},
            "missing": [999999],
        }
    }
    assert Case.objects.get().assigned_to == users["collector"]


def test_a_promise_to_pay_is_recorded_on_the_case(client_as: Client, case: Case, loan: Loan) -> None:
    body = {"amount": "500.00", "due_on": "2026-11-26", "loan": loan.pk}
    response = client_as("collector").post(f"{API}/cases/{case.pk}/promises/", body, format="json")

    assert response.status_code == 201, response.content
    assert {k: response.json()[k] for k in ("case", "loan", "amount", "made_on", "due_on", "status")} == {
        "case": case.pk,
        "loan": loan.pk,
        "amount": "500.00",
        "made_on": "2026-11-23",
        "due_on": "2026-11-26",
        "status": "pending",
    }


def test_a_promise_on_a_loan_outside_the_case_is_a_400(
    client_as: Client, case: Case, make_loan: Callable[..., Loan]
) -> None:
    stray = make_loan(principal="3000.00")
    body = {"amount": "500.00", "due_on": "2026-11-26", "loan": stray.pk}
    response = client_as("collector").post(f"{API}/cases/{case.pk}/promises/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"loan": ["This loan is not one of the case's loans."]}


# -- contact policies ---------------------------------------------------------------------------


def policy_body(**fields: Any) -> dict[str, Any]:
    return {"preset": "us", "effective_from": (timezone.now() + timedelta(days=1)).isoformat(), **fields}


def test_a_new_contact_policy_is_the_next_version_and_listed_first(client_as: Client) -> None:
    admin = client_as("admin")
    created = admin.post(f"{API}/contact-policies/", policy_body(max_calls_per_7_days=5), format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["version"], body["preset"], body["max_calls_per_7_days"], body["quiet_start"]) == (
        2,
        "us",
        5,
        "21:00:00",
    )
    assert body["conversation_cooldown_days"] == 7
    third = admin.post(f"{API}/contact-policies/", policy_body(preset="uk"), format="json")
    assert third.json()["version"] == 3
    listed = admin.get(f"{API}/contact-policies/").json()["results"]
    assert [row["version"] for row in listed] == [3, 2, 1]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"max_calls_per_7_days": "seven"}, "max_calls_per_7_days"),
        ({"quiet_start": "25:00"}, "quiet_start"),
        ({"field_visit_min_staff": 1}, "field_visit_min_staff"),
        ({"quiet_start": "08:00:00"}, "quiet_end"),
        ({"max_calls_per_week": 3}, "max_calls_per_week"),
        ({"preset": "fr"}, "preset"),
        ({"effective_from": "tomorrow"}, "effective_from"),
    ],
)
def test_a_bad_contact_policy_field_is_a_400_naming_it(client_as: Client, fields: dict[str, Any], named: str) -> None:
    response = client_as("admin").post(f"{API}/contact-policies/", policy_body(**fields), format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["fields"]) == [named]
    assert ContactPolicy.objects.count() == 1


def test_a_contact_policy_starting_in_the_past_is_refused(client_as: Client) -> None:
    body = policy_body(effective_from=(timezone.now() - timedelta(days=1)).isoformat())
    response = client_as("admin").post(f"{API}/contact-policies/", body, format="json")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "policy_in_past"


def test_a_contact_policy_body_that_is_not_an_object_is_a_400(client_as: Client) -> None:
    response = client_as("admin").post(f"{API}/contact-policies/", [1, 2], format="json")

    assert response.status_code == 400


# -- reminders and the bureau ------------------------------------------------------------------


def test_reminders_are_listed_for_a_supervisor_by_status(client_as: Client) -> None:
    response = client_as("collections_supervisor").get(f"{API}/reminders/?status=sent")

    assert response.status_code == 200
    assert response.json()["count"] == Reminder.objects.filter(status="sent").count() == 0


def test_the_bureau_export_is_served_as_csv_and_the_same_bytes_twice(client_as: Client, loan: Loan) -> None:
    LoanMonthSnapshot.objects.create(
        month_end=date(2026, 10, 31),
        loan=loan,
        dpd=0,
        bucket="C",
        outstanding_principal=Decimal("9000.00"),
        overdue_amount=Decimal("0.00"),
        status="active",
    )
    risk = client_as("risk_officer")
    first = risk.get(f"{API}/bureau-exports/2026-10-31/")
    second = risk.get(f"{API}/bureau-exports/2026-10-31/", HTTP_ACCEPT="text/csv")

    assert first.status_code == 200, first.content
    assert first["Content-Type"] == "text/csv; charset=utf-8"
    assert first.content.decode().startswith("account,national_id,status")
    assert second.content == first.content
    assert first["X-Content-SHA256"] == second["X-Content-SHA256"]


def test_a_bureau_export_for_a_day_that_is_not_a_month_end_is_a_400(client_as: Client) -> None:
    response = client_as("admin").get(f"{API}/bureau-exports/2026-10-30/")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"month_end": ["Use the last day of a month."]}


# -- the schema ------------------------------------------------------------------------------------


def test_the_openapi_schema_generates_without_warnings(client_as: Client, tmp_path: Any) -> None:
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"), stderr=StringIO()
    )

    paths = client_as("collector").get(f"{API}/schema/?format=json").json()["paths"]
    assert "/api/v1/cases/{case_id}/contact-attempts/" in paths
    assert "/api/v1/contact-policies/" in paths


# -- arrangements, disputes, field visits ----------------------------------------------------------


def test_an_arrangement_is_requested_by_the_collector_and_rejected_by_a_supervisor(
    client_as: Client, case: Case, loan: Loan
) -> None:
    body = {"loan": loan.pk, "kind": "extension", "months": 3, "reason": "lost her job in October"}
    requested = client_as("collector").post(f"{API}/cases/{case.pk}/arrangements/", body, format="json")
    assert requested.status_code == 201, requested.content
    arrangement_id = requested.json()["id"]
    assert (requested.json()["status"], requested.json()["kind"], requested.json()["months"]) == (
        "requested",
        "extension",
        3,
    )

    url = f"{API}/arrangements/{arrangement_id}"
    assert client_as("collector").post(f"{url}/approve/", {}, format="json").status_code == 403
    rejected = client_as("collections_supervisor").post(f"{url}/reject/", {"note": "income too low"}, format="json")

    assert rejected.status_code == 200, rejected.content
    assert (rejected.json()["status"], rejected.json()["decision_note"]) == ("rejected", "income too low")
    detail = client_as("collector").get(f"{API}/cases/{case.pk}/").json()
    assert detail["open_arrangements"] == []


def test_a_rejection_without_a_note_is_a_400(client_as: Client, case: Case, loan: Loan) -> None:
    body = {"loan": loan.pk, "kind": "penalty_waiver", "reason": "hospital stay"}
    arrangement_id = (
        client_as("collector").post(f"{API}/cases/{case.pk}/arrangements/", body, format="json").json()["id"]
    )

    response = client_as("collections_supervisor").post(
        f"{API}/arrangements/{arrangement_id}/reject/", {}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["note"]


def test_an_open_dispute_pauses_calls_to_the_borrower(client_as: Client, case: Case) -> None:
    collector = client_as("collector")
    opened = collector.post(f"{API}/cases/{case.pk}/disputes/", {"written": True, "note": "says paid"}, format="json")
    assert opened.status_code == 201, opened.content
    assert (opened.json()["written"], opened.json()["resolved_at"]) == (True, None)

    response = log_call(collector, case)  # now: after the dispute opened

    assert response.status_code == 422
    assert response.json()["error"]["rule"] == "dispute_pause"


def test_a_field_visit_with_one_staff_is_refused_and_with_two_is_approved_by_a_supervisor(
    client_as: Client, case: Case, users: dict[str, User]
) -> None:
    Case.objects.filter(pk=case.pk).update(stage="late", max_dpd=100, overdue_amount=Decimal("6000.00"))
    body = {
        "planned_at": (timezone.now() + timedelta(days=2)).astimezone(SHANGHAI).replace(hour=10).isoformat(),
        "address": "北京市东城区 1 号",
        "reason": "no answer on any number for 30 days",
        "staff": [users["collector"].pk],
    }
    url = f"{API}/cases/{case.pk}/field-visits/"
    alone = client_as("collector").post(url, body, format="json")
    assert alone.status_code == 422
    assert (alone.json()["error"]["code"], list(alone.json()["error"]["fields"])) == ("field_visit_staff", ["staff"])

    pair = client_as("collector").post(
        url, {**body, "staff": [users["collector"].pk, users["collections_supervisor"].pk]}, format="json"
    )
    assert pair.status_code == 201, pair.content
    approved = client_as("collections_supervisor").post(f"{API}/field-visits/{pair.json()['id']}/approve/")

    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
