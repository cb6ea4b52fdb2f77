"""The collections admin: contact policies from presets, templates with lint, read-only history."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from riskdesk.collections.models import ContactAttempt, ContactPolicy, MessageTemplate
from riskdesk.core.models import AuditLog
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def policy_form(preset: str, **overrides: str) -> dict[str, str]:
    starts = timezone.localtime(timezone.now() + timedelta(days=1))
    return {
        "preset": preset,
        "effective_from_0": starts.strftime("%Y-%m-%d"),
        "effective_from_1": "09:00:00",
        "note": "",
        **overrides,
    }


def test_admin_adds_a_policy_version_from_the_us_preset(users: dict[str, User]) -> None:
    response = client_for(users["admin"]).post(
        reverse("admin:collections_contactpolicy_add"), policy_form("us", note="Regulation F book")
    )
    assert response.status_code == 302
    policy = ContactPolicy.objects.get(version=2)  # v1 is the default China policy of migration 0002
    assert (policy.preset, policy.quiet_start, policy.max_calls_per_7_days, policy.conversation_cooldown_days) == (
        "us",
        time(21, 0),
        7,
        7,
    )
    assert (policy.note, policy.created_by) == ("Regulation F book", users["admin"])
    assert AuditLog.objects.filter(action="contact_policy.create", entity_id=str(policy.pk)).exists()


def test_a_rule_set_in_the_admin_overrides_the_preset(users: dict[str, User]) -> None:
    client_for(users["admin"]).post(
        reverse("admin:collections_contactpolicy_add"), policy_form("cn", quiet_start="21:30")
    )
    policy = ContactPolicy.objects.get(version=2)
    assert (policy.quiet_start, policy.quiet_end, policy.max_unanswered_dials_per_number_per_day) == (
        time(21, 30),
        time(8, 0),
        6,
    )


def test_a_policy_starting_in_the_past_is_refused_on_the_form(users: dict[str, User]) -> None:
    response = client_for(users["admin"]).post(
        reverse("admin:collections_contactpolicy_add"),
        policy_form("cn", effective_from_0="2020-01-01"),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["effective_from"] == [
        "A policy version cannot start in the past: attempts already checked must keep their version."
    ]
    assert list(ContactPolicy.objects.values_list("version", flat=True)) == [1]


def test_a_saved_policy_version_cannot_be_changed(users: dict[str, User]) -> None:
    client = client_for(users["admin"])
    url = reverse("admin:collections_contactpolicy_change", args=[ContactPolicy.objects.get(version=1).pk])
    assert client.get(url).status_code == 200
    client.post(url, {"preset": "us", "note": "edited"})
    assert ContactPolicy.objects.get(version=1).preset == "cn"


def test_the_policy_list_shows_version_preset_and_start(users: dict[str, User]) -> None:
    page = client_for(users["admin"]).get(reverse("admin:collections_contactpolicy_changelist")).content.decode()
    assert "field-version" in page
    assert "field-preset" in page
    assert "field-effective_from" in page


def test_a_collector_may_not_open_the_collections_admin(users: dict[str, User]) -> None:
    response = client_for(users["collector"]).get(reverse("admin:collections_contactpolicy_changelist"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def template(body: str, audience: str = "borrower") -> MessageTemplate:
    return MessageTemplate.objects.create(
        code="d7-call", language="zh-hans", channel="sms", audience=audience, body=body
    )


def test_the_approve_action_refuses_a_template_with_prohibited_words_and_names_them(users: dict[str, User]) -> None:
    threat = template("不还款将通知公安，列入黑名单。")
    response = client_for(users["admin"]).post(
        reverse("admin:collections_messagetemplate_changelist"),
        {"action": "approve", "_selected_action": [threat.pk]},
        follow=True,
    )
    [message] = [str(m) for m in response.context["messages"]]
    assert "公安" in message and "黑名单" in message
    threat.refresh_from_db()
    assert threat.status == MessageTemplate.Status.DRAFT
    assert {finding["term"] for finding in threat.lint_findings} == {"公安", "黑名单"}


def test_the_approve_action_approves_a_clean_template(users: dict[str, User]) -> None:
    clean = template("{name}，您好：您的借款 {loan} 将于 {due_date} 到期。")
    client_for(users["admin"]).post(
        reverse("admin:collections_messagetemplate_changelist"),
        {"action": "approve", "_selected_action": [clean.pk]},
    )
    clean.refresh_from_db()
    assert (clean.status, clean.approved_by) == (MessageTemplate.Status.APPROVED, users["admin"])


def test_the_template_page_shows_the_lint_findings_of_its_text(users: dict[str, User]) -> None:
    third_party = template("请转告他尽快还款 500 元。", audience="third_party")
    page = (
        client_for(users["admin"])
        .get(reverse("admin:collections_messagetemplate_change", args=[third_party.pk]))
        .content.decode()
    )
    assert "third_party_disclosure · 还款" in page
    assert "third_party_disclosure · 500 元" in page


def test_contact_attempts_are_read_only_in_the_admin(users: dict[str, User]) -> None:
    client = client_for(users["admin"])
    assert client.get(reverse("admin:collections_contactattempt_changelist")).status_code == 200
    assert client.get(reverse("admin:collections_contactattempt_add")).status_code == 403
    assert not ContactAttempt.objects.exists()
