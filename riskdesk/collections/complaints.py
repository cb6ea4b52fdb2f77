"""Complaint services: record a borrower's complaint about how they were collected, and resolve it.

Complaints are counted on the compliance page (close of day turns each business day's
received complaints into ComplianceDay rows), so a complaint keeps the instant it arrived
(`received_at`, which may be earlier than when the desk keyed it in) apart from
`created_at`. Each write is atomic with its audit row.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from riskdesk.collections.models import Case, Channel, Complaint
from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.lending.models import Borrower

__all__ = ["complaint_record", "complaint_resolve"]


def complaint_record(
    *,
    borrower: Borrower,
    case: Case | None,
    channel: str,
    category: str,
    received_at: datetime,
    description: str,
    actor: Actor,
) -> Complaint:
    """Record a complaint as received; a case, when named, must be the borrower's own."""
    if channel not in Channel.values:
        raise DomainError("invalid_channel", f"Unknown channel {channel!r}.", field="channel")
    if category not in Complaint.Category.values:
        raise DomainError("invalid_category", f"Unknown complaint category {category!r}.", field="category")
    if case is not None and case.borrower_id != borrower.pk:
        raise DomainError("case_not_borrowers", "This case is not the borrower's.", field="case")
    if timezone.is_naive(received_at):
        raise DomainError(
            "received_at_naive", "Give the time the complaint arrived with its offset.", field="received_at"
        )
    if received_at > timezone.now():
        raise DomainError("received_in_future", "A complaint cannot arrive in the future.", field="received_at")
    if not description.strip():
        raise DomainError("description_required", "Say what the borrower complains about.", field="description")
    with transaction.atomic():
        complaint = Complaint.objects.create(
            borrower=borrower,
            case=case,
            channel=channel,
            category=category,
            received_at=received_at,
            description=description,
            created_by=user_or_none(actor),
        )
        audit_record(
            actor=actor,
            action="complaint.record",
            entity=complaint,
            after={"category": category, "channel": channel, "case": case.pk if case else None},
        )
    return complaint


def complaint_resolve(*, complaint: Complaint, resolution: str, actor: Actor) -> Complaint:
    """Close a complaint, saying how; a resolved complaint stays resolved (409)."""
    if not resolution.strip():
        raise DomainError("resolution_required", "Say how the complaint was resolved.", field="resolution")
    with transaction.atomic():
        # Locked and re-read so two supervisors resolving at once cannot both write.
        locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if locked.status == Complaint.Status.RESOLVED:
            raise Conflict("complaint_resolved", "This complaint is already resolved.")
        locked.status = Complaint.Status.RESOLVED
        locked.resolved_at = timezone.now()
        locked.resolution = resolution
        locked.save(update_fields=["status", "resolved_at", "resolution"])
        audit_record(
            actor=actor,
            action="complaint.resolve",
            entity=locked,
            before={"status": Complaint.Status.OPEN},
            after={"status": locked.status, "resolution": resolution},
        )
    return locked
