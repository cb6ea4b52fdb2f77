"""Channel adapters: how a reminder leaves the desk, and what became of it.

Every adapter writes an OutboxMessage row inside the dispatcher's transaction, so the
"send" commits or rolls back together with the reminder's status: a crash never sends
twice and never loses a send. SMS and push gateways default to that outbox (a real
gateway would deliver the queued rows); letters are printed from it. Email is relayed
from the outbox to Django's mail backend by `outbox_relay_email`: that SMTP hop is
at-least-once (a crash after the server accepted a message and before the row is marked
delivered sends it again on the next relay), which is the most SMTP itself offers.

Deployments pick adapters per channel with settings.RISKDESK_CHANNEL_ADAPTERS (dotted paths).
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from riskdesk.collections.models import Channel, OutboxMessage, Reminder
from riskdesk.core.audit import audit_record
from riskdesk.core.errors import DomainError
from riskdesk.core.sql import is_postgres

log = logging.getLogger(__name__)

DEFAULT_ADAPTERS = {
    Channel.SMS: "riskdesk.collections.channels.SmsGateway",
    Channel.PUSH: "riskdesk.collections.channels.PushGateway",
    Channel.EMAIL: "riskdesk.collections.channels.EmailAdapter",
    Channel.LETTER: "riskdesk.collections.channels.LetterAdapter",
}
RELAY_BATCH = 50


class ChannelAdapter(Protocol):
    def send(self, *, to: str, subject: str, body: str, reminder: Reminder | None) -> OutboxMessage: ...


class OutboxGateway:
    """Queue the message in the outbox, in the caller's transaction."""

    channel: str = ""

    def send(self, *, to: str, subject: str, body: str, reminder: Reminder | None) -> OutboxMessage:
        return OutboxMessage.objects.create(
            channel=self.channel, to=to, subject=subject[:200], body=body, reminder=reminder
        )


class SmsGateway(OutboxGateway):
    channel = Channel.SMS


class PushGateway(OutboxGateway):
    channel = Channel.PUSH


class EmailAdapter(OutboxGateway):
    """Queue an email; `outbox_relay_email` hands it to Django's mail backend after commit."""

    channel = Channel.EMAIL


class LetterAdapter(OutboxGateway):
    """Queue a letter to the borrower's registered address (the print run reads the outbox)."""

    channel = Channel.LETTER


def adapter_for(channel: str) -> ChannelAdapter:
    """The configured adapter of `channel`; a channel without one cannot carry a reminder."""
    paths = {**DEFAULT_ADAPTERS, **getattr(settings, "RISKDESK_CHANNEL_ADAPTERS", {})}
    if channel not in paths:
        raise DomainError("no_channel_adapter", f"No adapter is configured for channel {channel!r}.", field="channel")
    return import_string(paths[channel])()


@transaction.atomic
def outbox_delivery_update(*, message: OutboxMessage, status: str) -> OutboxMessage:
    """Record what the gateway reported for a message: delivered or failed, and when."""
    if status not in (OutboxMessage.Status.DELIVERED, OutboxMessage.Status.FAILED):
        raise DomainError("invalid_delivery_status", "Delivery status is 'delivered' or 'failed'.", field="status")
    before = {"status": message.status}
    message.status, message.status_at = status, timezone.now()
    message.save(update_fields=["status", "status_at"])
    audit_record(actor=None, action="outbox.delivery", entity=message, before=before, after={"status": status})
    return message


def outbox_relay_email(*, limit: int = 500) -> int:
    """Send queued emails through Django's mail backend; return how many were delivered.

    Each message is claimed with SKIP LOCKED in its own transaction, so relays running at
    once never send the same row, and a failure marks only that message failed.
    """
    delivered = 0
    for _ in range(limit):
        with transaction.atomic():
            message = _claim_queued_email()
            if message is None:
                break
            delivered += _relay_one(message)
    return delivered


def _claim_queued_email() -> OutboxMessage | None:
    queued = OutboxMessage.objects.filter(channel=Channel.EMAIL, status=OutboxMessage.Status.QUEUED).order_by("id")
    if is_postgres():
        queued = queued.select_for_update(skip_locked=True)
    return queued.first()


def _relay_one(message: OutboxMessage) -> int:
    try:
        EmailMessage(subject=message.subject, body=message.body, to=[message.to]).send()
    except Exception:  # noqa: BLE001 - any backend error fails this message, not the relay
        log.exception("email outbox message %s failed", message.pk)
        outbox_delivery_update(message=message, status=OutboxMessage.Status.FAILED)
        return 0
    outbox_delivery_update(message=message, status=OutboxMessage.Status.DELIVERED)
    return 1
