"""Write audit rows; every service that changes something calls audit_record."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder

from riskdesk.core.models import AuditLog


def _jsonable(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    entity: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditLog:
    """Append one audit row for `action` on `entity` (a model instance)."""
    return AuditLog.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        entity_type=entity._meta.label_lower,
        entity_id=str(entity.pk),
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason,
    )
