"""The default reminder ladder (DESIGN.md "Reminders") and its approved templates.

T-3 push, T-1 SMS, due-day SMS and push, last grace day SMS, then D+1, D+3, D+7, D+15
and D+30 on SMS with push and email as fallbacks; and the credit-bureau prior notice
(letter, then email, then SMS) at due date + 23: it precedes the default first report
(grace policy bureau_report_after_days = 30) by the contact policy's bureau_notice_days = 7.
Templates speak to the borrower only, in Simplified Chinese and English, and carry no
threat or claim the lint refuses.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils import timezone

OVERDUE_CHANNELS = ["sms", "push", "email"]
LADDER = [
    # code, anchor, offset_days, channels, template_code, kind
    ("t-3-push", "due_date", -3, ["push"], "reminder-upcoming", "reminder"),
    ("t-1-sms", "due_date", -1, ["sms"], "reminder-upcoming", "reminder"),
    ("due-sms", "due_date", 0, ["sms"], "reminder-due-today", "reminder"),
    ("due-push", "due_date", 0, ["push"], "reminder-due-today", "reminder"),
    ("grace-last-sms", "grace_end", 0, ["sms"], "reminder-grace-last-day", "reminder"),
    ("d+1", "due_date", 1, OVERDUE_CHANNELS, "reminder-overdue", "reminder"),
    ("d+3", "due_date", 3, OVERDUE_CHANNELS, "reminder-overdue", "reminder"),
    ("d+7", "due_date", 7, OVERDUE_CHANNELS, "reminder-overdue", "reminder"),
    ("d+15", "due_date", 15, OVERDUE_CHANNELS, "reminder-overdue", "reminder"),
    ("d+30", "due_date", 30, OVERDUE_CHANNELS, "reminder-overdue", "reminder"),
    ("bureau-notice", "due_date", 23, ["letter", "email", "sms"], "bureau-prior-notice", "bureau_notice"),
]

# (code, language) -> (subject, body); placeholders: {name} {amount} {due_date} {loan} {grace_end}
TEXTS: dict[tuple[str, str], tuple[str, str]] = {
    ("reminder-upcoming", "zh-hans"): (
        "还款提醒",
        "{name}您好，您的借款（编号{loan}）本期应还{amount}元，还款日为{due_date}。请在App中按时还款。",
    ),
    ("reminder-upcoming", "en"): (
        "Payment reminder",
        "Hello {name}, your installment of {amount} on loan {loan} is due on {due_date}. You can pay in the app.",
    ),
    ("reminder-due-today", "zh-hans"): (
        "今日还款日",
        "{name}您好，您的借款（编号{loan}）今天（{due_date}）为还款日，本期应还{amount}元。如已还款请忽略。",
    ),
    ("reminder-due-today", "en"): (
        "Your installment is due today",
        "Hello {name}, your installment of {amount} on loan {loan} is due today ({due_date}). "
        "If you have already paid, please ignore this message.",
    ),
    ("reminder-grace-last-day", "zh-hans"): (
        "宽限期最后一天",
        "{name}您好，您的借款（编号{loan}）本期{amount}元的宽限期于今天（{grace_end}）结束。"
        "今天还款不产生罚息。如需帮助，请联系客服。",
    ),
    ("reminder-grace-last-day", "en"): (
        "Last day of your grace period",
        "Hello {name}, the grace period for your installment of {amount} on loan {loan} ends today "
        "({grace_end}). Paying today adds no penalty interest. Contact us if you need help.",
    ),
    ("reminder-overdue", "zh-hans"): (
        "还款提醒",
        "{name}您好，您的借款（编号{loan}）{due_date}到期的一期尚有{amount}元未还。"
        "请尽快在App中还款；如有困难，请联系客服商量还款安排。",
    ),
    ("reminder-overdue", "en"): (
        "Your installment is past due",
        "Hello {name}, {amount} of your installment due on {due_date} on loan {loan} is still unpaid. "
        "Please pay in the app; if you are in difficulty, contact us to discuss a payment arrangement.",
    ),
    ("bureau-prior-notice", "zh-hans"): (
        "征信报送事先告知",
        "{name}您好，您的借款（编号{loan}）{due_date}到期的一期尚有{amount}元未还。"
        "根据《征信业管理条例》，如在7日后仍未还款，我们将依法向征信机构报送该笔借款的逾期信息。"
        "如对本笔借款有异议或需要帮助，请联系客服。",
    ),
    ("bureau-prior-notice", "en"): (
        "Notice before reporting to the credit bureau",
        "Hello {name}, {amount} of your installment due on {due_date} on loan {loan} is still unpaid. "
        "As the law requires, we are letting you know in advance: if it remains unpaid in 7 days, "
        "we will report the late payment on this loan to the credit bureau. "
        "If you disagree with this debt or need help, please contact us.",
    ),
}


def _templates() -> list[dict[str, Any]]:
    channels_by_code: dict[str, set[str]] = {}
    for _, _, _, channels, template_code, _ in LADDER:
        channels_by_code.setdefault(template_code, set()).update(channels)
    return [
        {"code": code, "language": language, "channel": channel, "subject": subject, "body": body}
        for (code, language), (subject, body) in TEXTS.items()
        for channel in sorted(channels_by_code[code])
    ]


def install(apps: Any, schema_editor: Any) -> None:
    ReminderStep = apps.get_model("collections", "ReminderStep")
    MessageTemplate = apps.get_model("collections", "MessageTemplate")
    for code, anchor, offset, channels, template_code, kind in LADDER:
        ReminderStep.objects.get_or_create(
            code=code,
            defaults={
                "anchor": anchor,
                "offset_days": offset,
                "channels": channels,
                "template_code": template_code,
                "kind": kind,
            },
        )
    approved_at = timezone.now()
    for fields in _templates():
        key = {name: fields.pop(name) for name in ("code", "language", "channel")}
        MessageTemplate.objects.get_or_create(
            **key, defaults={**fields, "audience": "borrower", "status": "approved", "approved_at": approved_at}
        )


def remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("collections", "ReminderStep").objects.filter(code__in=[row[0] for row in LADDER]).delete()
    codes = {code for code, _ in TEXTS}
    apps.get_model("collections", "MessageTemplate").objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [("collections", "0003_default_queues")]
    operations = [migrations.RunPython(install, remove)]
