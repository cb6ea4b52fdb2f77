"""Template lint: the prohibited content of DESIGN.md, in Chinese and English, and safe rendering.

Chinese terms match as substrings (Chinese has no spaces between words); English terms
match whole words, case-insensitively, so "courtesy" is not "court". A template with any
finding cannot be approved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from riskdesk.collections.models import MessageTemplate
from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.errors import Conflict, DomainError

PLACEHOLDERS = frozenset({"name", "amount", "due_date", "loan", "grace_end"})
# "{{" and "}}" are literal braces; anything else in braces is a placeholder.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")

# category code -> (Chinese substrings, English word patterns)
PROHIBITED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "impersonation": (
        ("公安", "警察", "警方", "法院", "法官", "传票", "检察院", "律师函", "律师"),
        (r"police", r"court", r"judge", r"summons", r"prosecutors?", r"lawyers?", r"attorneys?", r"bailiffs?"),
    ),
    "threats_insults": (
        ("后果自负", "曝光", "通讯录", "老赖", "骗子", "去死", "傻逼", "他妈的", "操你"),
        (
            r"threat(?:s|en|ens|ened|ening)?",
            r"we will visit your family",
            r"deadbeat",
            r"fuck\w*",
            r"shit\w*",
            r"bitch\w*",
            r"bastard",
        ),
    ),
    "false_claims": (
        ("黑名单", "拘留", "逮捕", "坐牢", "监狱", "刑事", "征信黑户"),
        (r"black\s?list(?:ed)?", r"arrest(?:s|ed)?", r"prison", r"jail(?:ed)?", r"criminal record"),
    ),
    "borrow_elsewhere": (
        ("以贷养贷", "借钱还", "网贷"),
        (r"borrow (?:money )?from (?:another|other|elsewhere)\w*", r"another loan to (?:re)?pay"),
    ),
    "unlisted_fees": (
        ("手续费", "催收费"),
        (r"collection fees?", r"processing fees?"),
    ),
}
# A third party is never told of the debt (DESIGN.md "third parties").
THIRD_PARTY_DEBT_WORDS = (
    ("逾期", "欠款", "欠", "还款", "借款"),
    (r"overdue", r"debts?", r"loans?", r"arrears", r"owe[sd]?", r"repay\w*"),
)
AMOUNT = re.compile(
    r"[¥￥]\s*\d[\d,.]*|\d[\d,.]*\s*(?:元|块)|\b\d[\d,.]*\s*(?:yuan|rmb|cny)\b|\b(?:rmb|cny)\s*\d|\{amount\}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    """One prohibited passage: its category code, the text matched and where."""

    code: str
    term: str
    field: str  # "subject" or "body"
    position: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _english(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])(?:" + "|".join(patterns) + r")(?![\w])", re.IGNORECASE)


COMPILED = {code: (chinese, _english(english)) for code, (chinese, english) in PROHIBITED.items()}
THIRD_PARTY_COMPILED = (THIRD_PARTY_DEBT_WORDS[0], _english(THIRD_PARTY_DEBT_WORDS[1]))


def _scan(text: str, field: str, code: str, chinese: tuple[str, ...], english: re.Pattern[str]) -> list[Finding]:
    found = [Finding(code, m.group(0), field, m.start()) for m in english.finditer(text)]
    for term in chinese:
        start = text.find(term)
        # A longer term (律师函) already covers a shorter one inside it (律师) at the same place.
        if start >= 0 and not any(f.position <= start < f.position + len(f.term) for f in found):
            found.append(Finding(code, term, field, start))
    return found


def template_lint(*, body: str, subject: str = "", audience: str, language: str) -> list[Finding]:
    """Every prohibited passage in a template, by category; third-party templates also may not
    carry an amount or any word of the debt.

    Both languages are scanned whatever `language` says: a Chinese template quoting an
    English threat is still a threat.
    """
    findings: list[Finding] = []
    for field, text in (("subject", subject), ("body", body)):
        for code, (chinese, english) in COMPILED.items():
            findings += _scan(text, field, code, chinese, english)
        if audience == MessageTemplate.Audience.THIRD_PARTY:
            findings += _scan(text, field, "third_party_disclosure", *THIRD_PARTY_COMPILED)
            findings += [Finding("third_party_disclosure", m.group(0), field, m.start()) for m in AMOUNT.finditer(text)]
        findings += [
            Finding("unknown_placeholder", m.group(0), field, m.start())
            for m in PLACEHOLDER.finditer(text)
            if m.group(1) is not None and m.group(1) not in PLACEHOLDERS
        ]
    return sorted(findings, key=lambda f: (f.field != "subject", f.position, f.code))


def message_template_approve(*, template: MessageTemplate, actor: Actor) -> MessageTemplate:
    """Approve a template for sending; refused while the lint finds anything."""
    if template.status == MessageTemplate.Status.APPROVED:
        raise Conflict("template_approved", "This template is already approved.")
    findings = template_lint(
        body=template.body, subject=template.subject, audience=template.audience, language=template.language
    )
    if findings:
        # Kept on the row so the admin shows why the template is still a draft.
        template.lint_findings = [f.as_dict() for f in findings]
        template.save(update_fields=["lint_findings"])
        raise DomainError(
            "template_prohibited",
            f"The template has {len(findings)} prohibited passage(s): " + ", ".join(f.term for f in findings[:5]),
            field="body",
            findings=[f.as_dict() for f in findings],
        )
    with transaction.atomic():
        before = {"status": template.status}
        template.status = MessageTemplate.Status.APPROVED
        template.approved_by = user_or_none(actor)
        template.approved_at = timezone.now()
        template.lint_findings = []
        template.save(update_fields=["status", "approved_by", "approved_at", "lint_findings"])
        audit_record(
            actor=actor, action="message_template.approve", entity=template, before=before, after={"status": "approved"}
        )
    return template


def template_render(*, template: MessageTemplate, context: Mapping[str, Any]) -> tuple[str, str]:
    """Fill a template's placeholders from `context`: (subject, body).

    Only the known names are filled, by plain substitution: str.format would let a
    template reach attributes ({name.__class__}) and fail on stray braces.
    """
    return _fill(template.subject, context), _fill(template.body, context)


def _fill(text: str, context: Mapping[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key is None:
            return match.group(0)[0]
        if key not in PLACEHOLDERS or key not in context:
            raise DomainError(
                "template_placeholder_missing", f"No value for the placeholder {{{key}}}.", field="context", key=key
            )
        return str(context[key])

    return PLACEHOLDER.sub(value, text)
