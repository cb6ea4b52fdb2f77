"""The compliance gate: every contact with anyone asks `contact_check` first.

Interface fixed here so that every path (collector UI, API, reminder dispatcher,
field visits) calls the same function; the rules themselves live in
`compliance.py` (pure, no ORM) and this module gathers the facts they need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from riskdesk.collections.models import Case, Channel, ContactPolicy, Purpose
from riskdesk.lending.models import Borrower, ContactPoint, EmergencyContact


@dataclass(frozen=True)
class Decision:
    """The gate's answer: allowed, or blocked by `rule` with a message and the next allowed time."""

    allowed: bool
    rule: str = ""
    message: str = ""
    next_allowed_at: datetime | None = None
    # Every rule evaluated, name -> "ok" or the reason it failed; stored on the attempt.
    results: dict[str, str] = field(default_factory=dict)
    policy: ContactPolicy | None = None


def contact_check(
    *,
    case: Case | None,
    borrower: Borrower,
    channel: Channel | str,
    at: datetime,
    contact_point: ContactPoint | None = None,
    emergency_contact: EmergencyContact | None = None,
    purpose: Purpose | str = Purpose.COLLECT,
    template_id: int | None = None,
) -> Decision:
    """Check one contact against the policy in force at `at`; fail closed on anything unknown."""
    raise NotImplementedError
