"""Write audit rows; every service that changes something calls audit_record."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder

from riskdesk.core.models import AuditLog

# Who did something: a user, an anonymous request, or None for the nightly jobs.
Actor = AbstractBaseUser | AnonymousUser | None


def user_or_none(actor: Actor) -> AbstractBaseUser | None:
    """The user to store as who did it: None for the nightly jobs and anonymous callers."""
    return actor if actor is not None and actor.is_authenticated else None


def _jsonable(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_record(
    *,
    actor: Actor,
    action: str,
    entity: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditLog:
    """Append one audit row for `action` on `entity` (a model instance)."""
    return AuditLog.objects.create(
        actor=user_or_none(actor),
        action=action,
        entity_type=entity._meta.label_lower,
        entity_id=str(entity.pk),
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason,
    )
