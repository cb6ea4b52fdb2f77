"""The collections desk's pages: queue, next case, the case page, reveal, the team page."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from riskdesk.collections import cases, gate
from riskdesk.collections.models import Arrangement, Case, CollectorProfile, ContactAttempt, ContactPolicy, Stage
from riskdesk.core import roles
from riskdesk.core.models import AuditLog
from riskdesk.lending.models import Borrower, Loan
from tests.conftest import TODAY, client_for

pytestmark = pytest.mark.django_db

QUIET_HOURS_END = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


@pytest.fixture(autouse=True)
def _attempts_at_chosen_instants(any_attempt_time: None) -> None:
    """These tests log attempts at instants they choose (see tests/conftest.any_attempt_time)."""


@pytest.fixture
def allowed_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page asks the gate about each party; these tests are about the page, not the rules."""
    monkeypatch.setattr(gate, "contact_check", lambda **kwargs: gate.Decision(allowed=True))


@pytest.fixture
def second_collector(db: None) -> User:
    user = User.objects.create_user(username="collector2", password="pw-collector2")
    user.groups.add(Group.objects.get_or_create(name=roles.COLLECTOR)[0])
    return user


def open_case(borrower: Borrower, loans: list[Loan], collector: User | None, priority: str = "100.00") -> Case:
    case = Case.objects.create(
        borrower=borrower,
        stage=Stage.MID,
        worst_bucket="M2",
        max_dpd=45,
        overdue_amount=Decimal("2080.00"),
        priority=Decimal(priority),
        assigned_to=collector,
        opened_on=TODAY,
        updated_on=TODAY,
    )
    case.loans.set(loans)
    return case


def other_borrower(national_id: str = "310104199208200028") -> Borrower:
    return Borrower.objects.create(name="李娜", national_id=national_id)


@pytest.fixture
def case(users: dict[str, User], borrower: Borrower, make_loan: Callable[..., Loan]) -> Case:
    return open_case(borrower, [make_loan()], users["collector"])


# -- queue and next case -----------------------------------------------------------------


def test_queue_lists_only_the_collectors_open_cases(users: dict[str, User], case: Case, second_collector: User) -> None:
    theirs = open_case(other_borrower(), [], second_collector)
    closed = open_case(other_borrower("440305199510210043"), [], users["collector"])
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED)
    response = client_for(users["collector"]).get(reverse("collections_queue"))
    assert [row.pk for row in response.context["cases"]] == [case.pk]
    assert reverse("collections_case", args=[theirs.pk]) not in response.content.decode()


def test_queue_orders_cases_by_priority(users: dict[str, User], case: Case) -> None:
    urgent = open_case(other_borrower(), [], users["collector"], priority="900.00")
    response = client_for(users["collector"]).get(reverse("collections_queue"))
    assert [row.pk for row in response.context["cases"]] == [urgent.pk, case.pk]


def test_queue_is_closed_to_risk_officers(users: dict[str, User]) -> None:
    assert client_for(users["risk_officer"]).get(reverse("collections_queue")).status_code == 403


def test_home_sends_a_collector_to_the_queue_and_a_supervisor_to_the_team(users: dict[str, User]) -> None:
    assert client_for(users["collector"]).get(reverse("home")).url == reverse("collections_queue")
    assert client_for(users["collections_supervisor"]).get(reverse("home")).url == reverse("collections_team")


def test_next_case_redirects_to_the_case_handed_out(
    users: dict[str, User], borrower: Borrower, make_loan: Callable[..., Loan], monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = open_case(borrower, [make_loan()], None)
    monkeypatch.setattr(cases, "case_next", lambda *, collector: waiting)
    response = client_for(users["collector"]).post(reverse("collections_next"))
    assert response.status_code == 302
    assert response.url == reverse("collections_case", args=[waiting.pk])


def test_next_case_with_nothing_waiting_says_so(users: dict[str, User], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cases, "case_next", lambda *, collector: None)
    response = client_for(users["collector"]).post(reverse("collections_next"), follow=True)
    assert response.redirect_chain == [(reverse("collections_queue"), 302)]
    assert [str(m) for m in response.context["messages"]] == ["No case is waiting in your queues."]


def test_next_case_at_the_workload_cap_says_so(
    users: dict[str, User], case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    CollectorProfile.objects.create(user=users["collector"], max_open_cases=1)
    monkeypatch.setattr(cases, "case_next", lambda *, collector: None)
    response = client_for(users["collector"]).post(reverse("collections_next"), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "You hold 1 open cases, your cap; close or hand back a case before taking another."
    ]


# -- the case page -----------------------------------------------------------------------


def test_another_collectors_case_is_not_found(
    users: dict[str, User], case: Case, second_collector: User, allowed_gate: None
) -> None:
    assert client_for(second_collector).get(reverse("collections_case", args=[case.pk])).status_code == 404


def test_a_missing_case_is_404(users: dict[str, User]) -> None:
    assert client_for(users["collector"]).get(reverse("collections_case", args=[999999])).status_code == 404


def test_the_case_page_masks_pii_for_a_collector(users: dict[str, User], case: Case, allowed_gate: None) -> None:
    page = client_for(users["collector"]).get(reverse("collections_case", args=[case.pk])).content.decode()
    assert "110*************34" in page
    assert "138****8000" in page
    assert "z***@example.com" in page
    assert "张**" in page
    for secret in ("110101199001011234", "13800138000", "zhangsan@example.com", "张三"):
        assert secret not in page
    assert 'class="reveal' not in page


def test_a_collector_may_not_reveal_pii(users: dict[str, User], case: Case) -> None:
    response = client_for(users["collector"]).post(
        reverse("collections_reveal", args=[case.pk]), {"field": "national_id"}
    )
    assert response.status_code == 403
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


def test_a_supervisor_reveal_returns_the_value_and_writes_an_audit_row(users: dict[str, User], case: Case) -> None:
    point = case.borrower.contact_points.get(kind="phone")
    response = client_for(users["collections_supervisor"]).post(
        reverse("collections_reveal", args=[case.pk]), {"field": f"point:{point.pk}"}
    )
    assert response.json() == {"field": f"point:{point.pk}", "value": "13800138000"}
    row = AuditLog.objects.get(action="pii.reveal")
    assert (row.actor, row.entity_type, row.entity_id) == (
        users["collections_supervisor"],
        "lending.borrower",
        str(case.borrower.pk),
    )
    assert row.after == {"field": f"point:{point.pk}", "case": case.pk}


def test_the_case_page_shows_the_gates_block_with_rule_and_next_allowed_time(
    users: dict[str, User], case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = gate.Decision(
        allowed=False, rule="quiet_hours", message="22:00-08:00 in the borrower's time", next_allowed_at=QUIET_HOURS_END
    )
    monkeypatch.setattr(gate, "contact_check", lambda **kwargs: blocked)
    page = client_for(users["collector"]).get(reverse("collections_case", args=[case.pk])).content.decode()
    assert "quiet_hours" in page
    assert "next allowed 2026-11-24 08:00" in page


def test_the_attempt_form_offers_only_the_borrowers_registered_contact_points(
    users: dict[str, User], case: Case, allowed_gate: None
) -> None:
    points = {point.kind: point.pk for point in case.borrower.contact_points.all()}
    Borrower.objects.create(name="王芳", national_id="440305199510210043").contact_points.create(
        kind="phone", value="13700137003"
    )
    page = client_for(users["collector"]).get(reverse("collections_case", args=[case.pk])).content.decode()
    assert f'<option value="{points["phone"]}" data-channels="call,sms"' in page
    assert f'<option value="{points["email"]}" data-channels="email"' in page
    assert f'<option value="{points["app"]}" data-channels="push"' in page
    assert page.count("data-channels=") == 3


def test_a_risk_officer_reads_the_case_page_without_forms(
    users: dict[str, User], case: Case, allowed_gate: None
) -> None:
    response = client_for(users["risk_officer"]).get(reverse("collections_case", args=[case.pk]))
    assert response.status_code == 200
    assert 'id="attempt-form"' not in response.content.decode()


def blocked_attempt(case: Case, actor: User) -> ContactAttempt:
    policy = ContactPolicy.objects.get(version=1)  # the China preset, from migration 0002
    return ContactAttempt.objects.create(
        case=case,
        borrower=case.borrower,
        channel="call",
        contact_point=case.borrower.contact_points.get(kind="phone"),
        source=ContactAttempt.Source.COLLECTOR,
        at=datetime(2026, 11, 23, 14, 30, tzinfo=UTC),
        allowed=False,
        rule="quiet_hours",
        message="22:00-08:00 in the borrower's time",
        next_allowed_at=QUIET_HOURS_END,
        policy=policy,
        outcome="blocked",
        actor=actor,
    )


def test_the_timeline_shows_a_blocked_attempt_with_its_rule_and_policy_version(
    users: dict[str, User], case: Case, allowed_gate: None
) -> None:
    blocked_attempt(case, users["collector"])
    response = client_for(users["collector"]).get(reverse("collections_case", args=[case.pk]))
    [entry] = [e for e in response.context["page"].timeline if e.kind == "attempt"]
    page = response.content.decode()
    assert entry.item.rule == "quiet_hours"
    assert "tl-blocked" in page
    assert "policy v1" in page


def test_the_attempt_row_the_page_prepends_after_a_block_names_the_rule_and_next_time(
    users: dict[str, User], case: Case
) -> None:
    attempt = blocked_attempt(case, users["collector"])
    response = client_for(users["collector"]).get(reverse("collections_attempt_row", args=[case.pk, attempt.pk]))
    row = response.content.decode()
    assert row.lstrip().startswith('<li class="tl tl-attempt tl-blocked tl-fresh">')
    assert "quiet_hours" in row
    assert "next allowed 2026-11-24 08:00" in row


def test_the_attempt_row_of_another_borrowers_attempt_is_404(
    users: dict[str, User], case: Case, make_loan: Callable[..., Loan]
) -> None:
    attempt = blocked_attempt(case, users["collector"])
    mine = open_case(other_borrower(), [], users["collector"])
    response = client_for(users["collector"]).get(reverse("collections_attempt_row", args=[mine.pk, attempt.pk]))
    assert response.status_code == 404


def test_a_blocked_attempt_posted_by_the_page_answers_422_with_rule_and_next_allowed_time(
    users: dict[str, User], case: Case
) -> None:
    """The page's own path: session cookie + X-CSRFToken header, JSON body, as static/js/case.js sends."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["collector"])
    page = client.get(reverse("collections_case", args=[case.pk]))
    token = page.context["csrf_token"]
    body = {
        "contact_point": case.borrower.contact_points.get(kind="phone").pk,
        "channel": "call",
        "purpose": "collect",
        "outcome": "no_answer",
        "note": "",
        "at": "2026-11-23T14:30:00Z",  # 22:30 in Shanghai: quiet hours
    }
    response = client.post(
        f"/api/v1/cases/{case.pk}/contact-attempts/",
        json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": str(token), "Accept": "application/json"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "contact_blocked"
    assert error["rule"]
    assert datetime.fromisoformat(error["next_allowed_at"].replace("Z", "+00:00")) == QUIET_HOURS_END
    row = client.get(reverse("collections_attempt_row", args=[case.pk, error["attempt_id"]]))
    assert error["rule"] in row.content.decode()


# -- promises and arrangements from the case page ---------------------------------------


def test_a_promise_posted_from_the_case_page_is_recorded(users: dict[str, User], case: Case) -> None:
    response = client_for(users["collector"]).post(
        reverse("collections_promise", args=[case.pk]), {"amount": "500.00", "due_on": "2026-11-27"}
    )
    assert response.status_code == 302
    promise = case.promises.get()
    assert (promise.amount, promise.due_on) == (Decimal("500.00"), date(2026, 11, 27))


def test_a_risk_officer_may_not_post_a_promise(users: dict[str, User], case: Case) -> None:
    response = client_for(users["risk_officer"]).post(
        reverse("collections_promise", args=[case.pk]), {"amount": "500.00", "due_on": "2026-11-27"}
    )
    assert response.status_code == 403
    assert not case.promises.exists()


# -- the supervisor ----------------------------------------------------------------------


def test_the_team_page_is_closed_to_collectors(users: dict[str, User]) -> None:
    assert client_for(users["collector"]).get(reverse("collections_team")).status_code == 403


def test_the_team_page_shows_workloads_against_caps(users: dict[str, User], case: Case, second_collector: User) -> None:
    response = client_for(users["collections_supervisor"]).get(reverse("collections_team"))
    loads = {load.collector.username: (load.open_cases, load.cap) for load in response.context["workloads"]}
    assert loads == {"collector": (1, 200), "collector2": (0, 200)}


def test_a_supervisor_reassigns_ticked_cases_in_bulk(
    users: dict[str, User], case: Case, second_collector: User
) -> None:
    other = open_case(other_borrower(), [], None)
    untouched = open_case(other_borrower("440305199510210043"), [], users["collector"])
    response = client_for(users["collections_supervisor"]).post(
        reverse("collections_reassign"), {"case_ids": [case.pk, other.pk], "collector": second_collector.pk}
    )
    assert response.status_code == 302
    assigned = dict(Case.objects.values_list("pk", "assigned_to"))
    assert assigned == {
        case.pk: second_collector.pk,
        other.pk: second_collector.pk,
        untouched.pk: users["collector"].pk,
    }


def test_a_bulk_reassign_with_no_case_ticked_changes_nothing(
    users: dict[str, User], case: Case, second_collector: User
) -> None:
    response = client_for(users["collections_supervisor"]).post(
        reverse("collections_reassign"), {"collector": second_collector.pk}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["Cases: Tick at least one case."]
    assert Case.objects.get(pk=case.pk).assigned_to == users["collector"]


def requested_arrangement(case: Case, collector: User) -> Arrangement:
    return Arrangement.objects.create(
        case=case, loan=case.loans.get(), kind="extension", months=3, reason="lost job", requested_by=collector
    )


def test_an_arrangement_requested_from_the_case_page_waits_for_a_supervisor(users: dict[str, User], case: Case) -> None:
    loan = case.loans.get()
    client_for(users["collector"]).post(
        reverse("collections_arrangement", args=[case.pk]),
        {"loan": loan.pk, "kind": "extension", "months": "3", "reason": "lost job in October"},
    )
    arrangement = case.arrangements.get()
    assert (arrangement.loan, arrangement.kind, arrangement.months, arrangement.status) == (
        loan,
        "extension",
        3,
        Arrangement.Status.REQUESTED,
    )
    team = client_for(users["collections_supervisor"]).get(reverse("collections_team"))
    assert team.context["approvals"].arrangements == [arrangement]


def test_a_supervisor_rejects_an_arrangement_with_a_note(users: dict[str, User], case: Case) -> None:
    arrangement = requested_arrangement(case, users["collector"])
    client_for(users["collections_supervisor"]).post(
        reverse("collections_arrangement_decide", args=[arrangement.pk]),
        {"decision": "reject", "note": "income not documented"},
    )
    arrangement.refresh_from_db()
    assert (arrangement.status, arrangement.decision_note) == (Arrangement.Status.REJECTED, "income not documented")


def test_a_rejection_without_a_note_is_refused_and_changes_nothing(users: dict[str, User], case: Case) -> None:
    arrangement = requested_arrangement(case, users["collector"])
    response = client_for(users["collections_supervisor"]).post(
        reverse("collections_arrangement_decide", args=[arrangement.pk]), {"decision": "reject"}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["Say why when you reject."]
    arrangement.refresh_from_db()
    assert arrangement.status == Arrangement.Status.REQUESTED


def test_a_collector_may_not_decide_an_arrangement(users: dict[str, User], case: Case) -> None:
    arrangement = requested_arrangement(case, users["collector"])
    response = client_for(users["collector"]).post(
        reverse("collections_arrangement_decide", args=[arrangement.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
