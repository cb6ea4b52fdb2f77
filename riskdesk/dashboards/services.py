"""Writes the dashboards own: the loss-given-default setting's versions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.dashboards.models import LossGivenDefault
from riskdesk.lending.models import Product
from riskdesk.lending.services import refuse_closed_past


@transaction.atomic
def loss_given_default_create(
    *, product: Product | None, effective_from: date, lgd: Decimal, note: str = "", actor: Actor = None
) -> LossGivenDefault:
    """Add an LGD version (for one product, or the default for all) from `effective_from`.

    It must start after the last closed business day: a closed day's expected loss was
    computed with the LGD then in force and is not rewritten.
    """
    refuse_closed_past(effective_from, "effective_from", "An LGD version's effective date")
    if not Decimal("0") <= lgd <= Decimal("1"):
        raise DomainError("invalid_lgd", "The LGD is a share of the exposure: from 0 to 1.", field="lgd")
    if LossGivenDefault.objects.filter(product=product, effective_from=effective_from).exists():
        raise Conflict(
            "lgd_version_exists", "A version with this effective date already exists.", field="effective_from"
        )
    version = LossGivenDefault.objects.create(
        product=product, effective_from=effective_from, lgd=lgd, note=note, created_by=user_or_none(actor)
    )
    audit_record(
        actor=actor,
        action="loss_given_default.create",
        entity=version,
        after={"product": product.code if product else None, "effective_from": effective_from, "lgd": lgd},
    )
    return version
