"""Channel adapters: the outbox they write, email relayed through Django's mail backend, delivery status."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from riskdesk.collections.channels import (
    EmailAdapter,
    LetterAdapter,
    PushGateway,
    SmsGateway,
    adapter_for,
    outbox_delivery_update,
    outbox_relay_email,
)
from riskdesk.collections.models import OutboxMessage
from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog

pytestmark = pytest.mark.django_db


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("smtp down")


class RecordingSms(SmsGateway):
    """A stand-in for a real SMS gateway, chosen through settings."""


def test_each_channel_has_its_default_adapter() -> None:
    adapters = {channel: type(adapter_for(channel)) for channel in ("sms", "push", "email", "letter")}

    assert adapters == {"sms": SmsGateway, "push": PushGateway, "email": EmailAdapter, "letter": LetterAdapter}


def test_a_channel_without_an_adapter_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        adapter_for("call")

    assert refused.value.code == "no_channel_adapter"


def test_settings_swap_in_another_gateway(settings: Any) -> None:
    settings.RISKDESK_CHANNEL_ADAPTERS = {"sms": f"{__name__}.RecordingSms"}

    assert type(adapter_for("sms")) is RecordingSms
    assert type(adapter_for("push")) is PushGateway


def test_the_sms_gateway_queues_the_message_in_the_outbox() -> None:
    message = adapter_for("sms").send(to="13800138000", subject="", body="您好", reminder=None)

    row = OutboxMessage.objects.get()
    assert (row.pk, row.channel, row.to, row.body, row.status) == (message.pk, "sms", "13800138000", "您好", "queued")


def test_an_email_is_sent_through_the_mail_backend_after_the_relay() -> None:
    adapter_for("email").send(to="zhangsan@example.com", subject="Payment reminder", body="Hello", reminder=None)
    assert mail.outbox == []

    assert outbox_relay_email() == 1

    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [(["zhangsan@example.com"], "Payment reminder", "Hello")]
    row = OutboxMessage.objects.get()
    assert row.status == "delivered"
    assert row.status_at is not None


def test_a_relayed_email_is_not_sent_again() -> None:
    adapter_for("email").send(to="zhangsan@example.com", subject="s", body="b", reminder=None)
    outbox_relay_email()

    assert outbox_relay_email() == 0
    assert len(mail.outbox) == 1


def test_the_relay_leaves_other_channels_to_their_gateways() -> None:
    adapter_for("sms").send(to="13800138000", subject="", body="b", reminder=None)

    assert outbox_relay_email() == 0
    assert OutboxMessage.objects.get().status == "queued"


def test_an_email_the_backend_refuses_is_marked_failed(settings: Any) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.BrokenBackend"
    adapter_for("email").send(to="zhangsan@example.com", subject="s", body="b", reminder=None)

    assert outbox_relay_email() == 0

    assert OutboxMessage.objects.get().status == "failed"


def test_delivery_status_is_recorded_with_its_time_and_an_audit_row() -> None:
    message = adapter_for("push").send(to="app:1", subject="", body="b", reminder=None)

    outbox_delivery_update(message=message, status="delivered")

    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.status_at is not None
    audit = AuditLog.objects.get(action="outbox.delivery")
    assert (audit.entity_id, audit.before, audit.after) == (
        str(message.pk),
        {"status": "queued"},
        {"status": "delivered"},
    )


def test_an_unknown_delivery_status_is_refused() -> None:
    message = adapter_for("push").send(to="app:1", subject="", body="b", reminder=None)

    with pytest.raises(DomainError) as refused:
        outbox_delivery_update(message=message, status="read")

    assert refused.value.code == "invalid_delivery_status"
