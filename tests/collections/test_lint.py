"""Template lint: prohibited content in Chinese and English, approval, safe rendering."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from riskdesk.collections.lint import message_template_approve, template_lint, template_render
from riskdesk.collections.models import MessageTemplate
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.models import AuditLog


def codes(body: str, audience: str = "borrower", subject: str = "") -> list[tuple[str, str]]:
    return [(f.code, f.term) for f in template_lint(body=body, subject=subject, audience=audience, language="zh-hans")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("This is the police: pay now.", [("impersonation", "police")]),
        ("我们是公安局经侦大队。", [("impersonation", "公安")]),
        ("The court will hear your case.", [("impersonation", "court")]),
        ("法院已立案，请查收传票。", [("impersonation", "法院"), ("impersonation", "传票")]),
        ("律师函已发出。", [("impersonation", "律师函")]),
        ("您已被列入黑名单。", [("false_claims", "黑名单")]),
        ("You will be ARRESTED tomorrow.", [("false_claims", "ARRESTED")]),
        ("再不还款将通知您的通讯录，后果自负。", [("threats_insults", "通讯录"), ("threats_insults", "后果自负")]),
        ("You could borrow from another lender.", [("borrow_elsewhere", "borrow from another")]),
        ("逾期将收取催收费200元。", [("unlisted_fees", "催收费")]),
    ],
)
def test_prohibited_content_is_found_by_category(body: str, expected: list[tuple[str, str]]) -> None:
    assert codes(body) == expected


def test_english_terms_match_whole_words_only() -> None:
    assert codes("Thank you for your courtesy; the policeman analogy is unarrested.") == []


def test_a_clean_borrower_reminder_has_no_findings() -> None:
    assert codes("{name}您好，您的借款{loan}将于{due_date}到期，应还{amount}元。") == []


@pytest.mark.parametrize(
    ("body", "term"),
    [
        ("请转告{name}，欠款¥1,200.50未还。", "¥1,200.50"),
        ("Please tell {name} that 500 yuan is due.", "500 yuan"),
        ("Please tell {name} the sum of {amount}.", "{amount}"),
        ("请转告{name}尽快联系我们，已逾期。", "逾期"),
        ("Tell {name} about the debt.", "debt"),
    ],
)
def test_a_third_party_template_may_carry_no_amount_and_no_word_of_the_debt(body: str, term: str) -> None:
    found = codes(body, audience="third_party")

    assert ("third_party_disclosure", term) in found
    assert all(code == "third_party_disclosure" for code, _ in found)


def test_the_subject_is_linted_too() -> None:
    found = template_lint(body="Please call us.", subject="Police notice", audience="borrower", language="en")

    assert [(f.code, f.field) for f in found] == [("impersonation", "subject")]


def test_an_unknown_placeholder_is_a_finding() -> None:
    assert codes("{name}, {balance} is due.") == [("unknown_placeholder", "{balance}")]


def test_a_template_with_prohibited_content_cannot_be_approved(users: dict[str, User]) -> None:
    template = MessageTemplate.objects.create(code="scare", channel="sms", body="不还款就拉入黑名单，通知警察。")

    with pytest.raises(DomainError) as refused:
        message_template_approve(template=template, actor=users["admin"])

    template.refresh_from_db()
    assert (refused.value.code, refused.value.field) == ("template_prohibited", "body")
    assert [f["term"] for f in refused.value.extra["findings"]] == ["黑名单", "警察"]
    assert (template.status, [f["code"] for f in template.lint_findings]) == (
        "draft",
        ["false_claims", "impersonation"],
    )


def test_approving_a_clean_template_records_who_and_audits(users: dict[str, User]) -> None:
    template = MessageTemplate.objects.create(
        code="due", channel="sms", body="{name}您好，请于{due_date}前还款{amount}元。"
    )

    message_template_approve(template=template, actor=users["admin"])

    template.refresh_from_db()
    assert (template.status, template.approved_by, template.lint_findings) == ("approved", users["admin"], [])
    assert AuditLog.objects.get(action="message_template.approve").entity_id == str(template.pk)
    with pytest.raises(Conflict):
        message_template_approve(template=template, actor=users["admin"])


def test_render_fills_the_known_placeholders() -> None:
    template = MessageTemplate(subject="Loan {loan}", body="{name}: {amount} due {due_date}. {{literal}}")

    subject, body = template_render(
        template=template,
        context={"loan": "L-7", "name": "张三", "amount": Decimal("1200.50"), "due_date": "2026-11-30"},
    )

    assert (subject, body) == ("Loan L-7", "张三: 1200.50 due 2026-11-30. {literal}")


@pytest.mark.parametrize("body", ["{name}, {amount} is due.", "{name.__class__}", "{balance}"])
def test_render_refuses_a_missing_or_unknown_placeholder(body: str) -> None:
    with pytest.raises(DomainError) as refused:
        template_render(template=MessageTemplate(body=body), context={"name": "张三"})

    assert refused.value.code == "template_placeholder_missing"
