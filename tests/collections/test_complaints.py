"""Complaints: recorded by whoever takes the call, resolved by a supervisor, each with its audit row.

The business date is 2026-11-23; complaints arrive at real past instants (a complaint
cannot arrive in the future, checked against the clock).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from riskdesk.collections.complaints import complaint_record, complaint_resolve
from riskdesk.collections.models import Case, Complaint
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.models import AuditLog
from riskdesk.lending import services
from riskdesk.lending.models import Borrower

API = "/api/v1"
TODAY = date(2026, 11, 23)
RECEIVED = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)
Client = Callable[[str], APIClient]


@pytest.fixture
def client_as(users: dict[str, User]) -> Client:
    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(users[role])
        return client

    return make


def open_case(borrower: Borrower, **fields: object) -> Case:
    values = {"stage": "mid", "worst_bucket": "M2", "max_dpd": 45, "opened_on": TODAY, "updated_on": TODAY}
    return Case.objects.create(borrower=borrower, **{**values, **fields})


def other_borrower() -> Borrower:
    return services.borrower_register(name="李四", national_id="110101199202021234", phones=[], email="")


def record(borrower: Borrower, actor: User | None = None, **fields: object) -> Complaint:
    values: dict[str, object] = {
        "case": None,
        "channel": "call",
        "category": "harassment",
        "received_at": RECEIVED,
        "description": "Called five times on Sunday.",
    }
    return complaint_record(borrower=borrower, actor=actor, **{**values, **fields})


# -- services ---------------------------------------------------------------------------------------


def test_a_recorded_complaint_is_open_with_its_arrival_time_and_an_audit_row(
    borrower: Borrower, users: dict[str, User]
) -> None:
    case = open_case(borrower)
    complaint = record(borrower, users["collector"], case=case)
    complaint.refresh_from_db()
    assert (complaint.status, complaint.received_at, complaint.case_id) == ("open", RECEIVED, case.pk)
    assert complaint.created_by == users["collector"]
    row = AuditLog.objects.get(action="complaint.record", entity_id=str(complaint.pk))
    assert row.after == {"category": "harassment", "channel": "call", "case": case.pk}


def test_a_complaint_on_another_borrowers_case_is_refused_naming_the_case(borrower: Borrower) -> None:
    case = open_case(other_borrower())
    with pytest.raises(DomainError) as refused:
        record(borrower, case=case)
    assert (refused.value.code, refused.value.field) == ("case_not_borrowers", "case")
    assert not Complaint.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"channel": "pigeon"}, "channel", "invalid_channel"),
        ({"category": "rudeness"}, "category", "invalid_category"),
        ({"description": "   "}, "description", "description_required"),
        ({"received_at": datetime(2026, 11, 20, 3, 15)}, "received_at", "received_at_naive"),
    ],
)
def test_bad_complaint_input_is_refused_naming_the_field(
    borrower: Borrower, fields: dict[str, object], field: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        record(borrower, **fields)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_complaint_cannot_arrive_in_the_future(borrower: Borrower) -> None:
    with pytest.raises(DomainError) as refused:
        record(borrower, received_at=timezone.now() + timedelta(minutes=5))
    assert (refused.value.code, refused.value.field) == ("received_in_future", "received_at")


def test_resolving_a_complaint_records_how_and_when_with_an_audit_row(
    borrower: Borrower, users: dict[str, User]
) -> None:
    complaint = record(borrower)
    resolved = complaint_resolve(complaint=complaint, resolution="Apologised; calls capped.", actor=users["admin"])
    resolved.refresh_from_db()
    assert (resolved.status, resolved.resolution) == ("resolved", "Apologised; calls capped.")
    assert resolved.resolved_at is not None
    row = AuditLog.objects.get(action="complaint.resolve", entity_id=str(complaint.pk))
    assert row.before == {"status": "open"}
    assert row.after == {"status": "resolved", "resolution": "Apologised; calls capped."}


def test_a_resolved_complaint_cannot_be_resolved_again(borrower: Borrower) -> None:
    complaint = record(borrower)
    complaint_resolve(complaint=complaint, resolution="Apologised.", actor=None)
    with pytest.raises(Conflict):
        complaint_resolve(complaint=complaint, resolution="Again.", actor=None)
    complaint.refresh_from_db()
    assert complaint.resolution == "Apologised."


def test_a_blank_resolution_is_refused(borrower: Borrower) -> None:
    complaint = record(borrower)
    with pytest.raises(DomainError) as refused:
        complaint_resolve(complaint=complaint, resolution=" ", actor=None)
    assert refused.value.field == "resolution"
    complaint.refresh_from_db()
    assert complaint.status == "open"


# -- API --------------------------------------------------------------------------------------------


def test_a_collector_records_a_complaint_on_their_own_case(
    client_as: Client, borrower: Borrower, users: dict[str, User]
) -> None:
    case = open_case(borrower, assigned_to=users["collector"])
    response = client_as("collector").post(
        f"{API}/complaints/",
        {
            "borrower": borrower.pk,
            "case": case.pk,
            "channel": "call",
            "category": "third_party",
            "received_at": "2026-11-20T03:15:00Z",
            "description": "My sister was told about the debt.",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["case"], body["category"], body["status"]) == (case.pk, "third_party", "open")
    assert body["received_at"] == "2026-11-20T11:15:00+08:00"


def test_a_collector_cannot_record_on_a_case_not_theirs(
    client_as: Client, borrower: Borrower, users: dict[str, User]
) -> None:
    case = open_case(borrower, assigned_to=users["collections_supervisor"])
    response = client_as("collector").post(
        f"{API}/complaints/",
        {"borrower": borrower.pk, "case": case.pk, "channel": "call", "category": "other", "description": "x"},
        format="json",
    )
    assert response.status_code == 404
    assert not Complaint.objects.exists()


def test_a_complaint_without_received_at_arrives_now(client_as: Client, borrower: Borrower) -> None:
    before = timezone.now()
    response = client_as("collections_supervisor").post(
        f"{API}/complaints/",
        {"borrower": borrower.pk, "channel": "letter", "category": "wrong_amount", "description": "Fees wrong."},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Complaint.objects.get().received_at >= before


def test_an_unknown_category_is_a_400_naming_the_field(client_as: Client, borrower: Borrower) -> None:
    response = client_as("admin").post(
        f"{API}/complaints/",
        {"borrower": borrower.pk, "channel": "call", "category": "rudeness", "description": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "category" in response.json()["error"]["fields"]


def test_a_future_arrival_is_a_422_naming_the_field(client_as: Client, borrower: Borrower) -> None:
    response = client_as("admin").post(
        f"{API}/complaints/",
        {
            "borrower": borrower.pk,
            "channel": "call",
            "category": "other",
            "received_at": (timezone.now() + timedelta(hours=1)).isoformat(),
            "description": "x",
        },
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"received_at": ["A complaint cannot arrive in the future."]}


def test_a_risk_officer_lists_but_may_not_record(client_as: Client, borrower: Borrower) -> None:
    record(borrower)
    officer = client_as("risk_officer")
    assert officer.get(f"{API}/complaints/").json()["count"] == 1
    response = officer.post(
        f"{API}/complaints/",
        {"borrower": borrower.pk, "channel": "call", "category": "other", "description": "x"},
        format="json",
    )
    assert response.status_code == 403


def test_a_collector_may_not_list_the_desks_complaints(client_as: Client, borrower: Borrower) -> None:
    record(borrower)
    assert client_as("collector").get(f"{API}/complaints/").status_code == 403


def test_the_list_filters_by_status_newest_first(client_as: Client, borrower: Borrower) -> None:
    older = record(borrower, received_at=RECEIVED - timedelta(days=2))
    newer = record(borrower)
    resolved = record(borrower, received_at=RECEIVED - timedelta(days=1))
    complaint_resolve(complaint=resolved, resolution="Done.", actor=None)
    body = client_as("collections_supervisor").get(f"{API}/complaints/", {"status": "open"}).json()
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]


def test_a_supervisor_resolves_and_a_second_resolve_is_a_409(client_as: Client, borrower: Borrower) -> None:
    complaint = record(borrower)
    supervisor = client_as("collections_supervisor")
    url = f"{API}/complaints/{complaint.pk}/resolve/"
    response = supervisor.post(url, {"resolution": "Apologised."}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    again = supervisor.post(url, {"resolution": "Again."}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "complaint_resolved"


def test_a_collector_may_not_resolve(client_as: Client, borrower: Borrower) -> None:
    complaint = record(borrower)
    response = client_as("collector").post(f"{API}/complaints/{complaint.pk}/resolve/", {"resolution": "x"})
    assert response.status_code == 403
