"""Writes of the scorecard registry: promotion, retirement and the limit policy.

Training (a new challenger) lives in training.py; these are the admin's decisions
about versions that exist. Each is atomic, keeps a ModelStatusChange row beside
its audit row, and names the field a refusal is about.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction

from riskdesk.core.audit import Actor, audit_record, user_or_none
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.models import JobRun
from riskdesk.core.money import quantize_money
from riskdesk.core.roles import ADMIN, require_role
from riskdesk.lending.services import refuse_closed_past
from riskdesk.riskmodels.models import RISK_BANDS, LimitPolicy, ModelStatusChange, ModelVersion
from riskdesk.riskmodels.scoring import STEP_NAME as SCORING_STEP_NAME

COMMENT_MAX = ModelStatusChange._meta.get_field("comment").max_length
NOTE_MAX = LimitPolicy._meta.get_field("note").max_length


def model_version_promote(*, model_version: ModelVersion, comment: str, actor: Actor) -> ModelVersion:
    """Make `model_version` the champion; the champion it replaces becomes a challenger.

    The next close of day writes the new champion's PD, band, score and reasons onto the
    loans; both keep scoring, so the old champion's monitoring goes on side by side.
    A retired version cannot come back (train a new one), and no promotion happens
    while a night's scoring step is unfinished (running, failed or not started).
    """
    require_role(actor, (ADMIN,), "promote a model")
    comment = _comment_checked(comment)
    with transaction.atomic():
        # Lock the registry's live rows: two admins promoting at once queue here.
        live = {
            v.pk: v
            for v in ModelVersion.objects.select_for_update()
            .filter(status__in=[ModelVersion.Status.CHAMPION, ModelVersion.Status.CHALLENGER])
            .order_by("pk")
        }
        target = live.get(model_version.pk)
        if target is None:
            raise Conflict("model_retired", "A retired model does not come back: train a new version.")
        if target.status == ModelVersion.Status.CHAMPION:
            raise Conflict("already_champion", f"Scorecard v{target.version} is already the champion.")
        _refuse_while_scoring_unfinished()
        for old in (v for v in live.values() if v.status == ModelVersion.Status.CHAMPION):
            # Demote first: the database holds one champion at most (constraint one_champion).
            _status_set(old, ModelVersion.Status.CHALLENGER, comment=comment, actor=actor)
        _status_set(target, ModelVersion.Status.CHAMPION, comment=comment, actor=actor)
    return target


def model_version_retire(*, model_version: ModelVersion, comment: str, actor: Actor) -> ModelVersion:
    """Stop a challenger scoring; a champion cannot be retired (promote another model first)."""
    require_role(actor, (ADMIN,), "retire a model")
    comment = _comment_checked(comment)
    with transaction.atomic():
        target = ModelVersion.objects.select_for_update().get(pk=model_version.pk)
        if target.status == ModelVersion.Status.CHAMPION:
            raise Conflict(
                "champion_cannot_retire",
                "The champion cannot be retired: promote another model first.",
            )
        if target.status == ModelVersion.Status.RETIRED:
            raise Conflict("already_retired", f"Scorecard v{target.version} is already retired.")
        _status_set(target, ModelVersion.Status.RETIRED, comment=comment, actor=actor)
    return target


def _comment_checked(comment: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise DomainError("comment_required", "Say why: a comment is required.", field="comment")
    if len(comment) > COMMENT_MAX:
        raise DomainError("comment_too_long", f"Keep the comment within {COMMENT_MAX} characters.", field="comment")
    return comment


def _refuse_while_scoring_unfinished() -> None:
    """Refuse while any night's scoring step is not done.

    A night's lineup is fixed when its step starts (ScoringNight) and its chunks may be
    retried: a promotion between a failed chunk and its retry would band one night with
    two champions. Finish the night (or let it finish) first.
    """
    unfinished = (
        JobRun.objects.filter(step=SCORING_STEP_NAME)
        .exclude(status=JobRun.Status.DONE)
        .order_by("business_date")
        .values_list("business_date", "status")
        .first()
    )
    if unfinished is None:
        return
    day, status = unfinished[0].isoformat(), unfinished[1]
    if status == JobRun.Status.RUNNING:
        message = f"Close of day for {day} is scoring: promote after it finishes, so one night has one champion."
    else:
        message = f"Scoring of {day} did not finish: finish close of day for {day} first."
    raise Conflict("scoring_unfinished", message, business_date=day)


def _status_set(version: ModelVersion, status: str, *, comment: str, actor: Actor) -> None:
    before = version.status
    version.status = status
    version.save(update_fields=["status"])
    ModelStatusChange.objects.create(
        model_version=version, from_status=before, to_status=status, comment=comment, actor=user_or_none(actor)
    )
    action = {ModelVersion.Status.CHAMPION: "promote", ModelVersion.Status.RETIRED: "retire"}.get(status, "demote")
    audit_record(
        actor=actor,
        action=f"model_version.{action}",
        entity=version,
        before={"status": before},
        after={"status": status},
        reason=comment,
    )


# -- the limit policy ---------------------------------------------------------------------


def limit_policy_create(
    *,
    effective_from: date,
    enabled: bool,
    reduce_on_bands: str,
    reduce_by: Decimal,
    minimum_limit: Decimal,
    note: str = "",
    actor: Actor,
) -> LimitPolicy:
    """Add a limit policy version, in force from `effective_from` (after the last closed day).

    On a champion downgrade into one of `reduce_on_bands` the line's limit becomes
    max(minimum_limit, limit x (1 - reduce_by)), never below what is drawn (scoring.py).
    """
    require_role(actor, (ADMIN,), "set the limit policy")
    bands = _bands_checked(reduce_on_bands)
    _reduce_by_checked(reduce_by)
    if minimum_limit < 0 or minimum_limit != quantize_money(minimum_limit):
        raise DomainError(
            "invalid_amount", "The minimum limit is an amount of 0 or more, in fen.", field="minimum_limit"
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError("note_too_long", f"Keep the note within {NOTE_MAX} characters.", field="note")
    with transaction.atomic():
        refuse_closed_past(effective_from, "effective_from", "A limit policy's effective date")
        # The unique effective_from decides, not a check before the insert: two admins
        # adding the same date at once would both pass a check. The savepoint keeps the
        # outer transaction usable for the refusal.
        try:
            with transaction.atomic():
                policy = LimitPolicy.objects.create(
                    effective_from=effective_from,
                    enabled=enabled,
                    reduce_on_bands=bands,
                    reduce_by=reduce_by,
                    minimum_limit=minimum_limit,
                    note=note,
                    created_by=user_or_none(actor),
                )
        except IntegrityError as clash:
            raise Conflict(
                "policy_version_exists", "A version with this effective date already exists.", field="effective_from"
            ) from clash
        audit_record(
            actor=actor,
            action="limit_policy.create",
            entity=policy,
            after={
                "effective_from": effective_from,
                "enabled": enabled,
                "reduce_on_bands": bands,
                "reduce_by": reduce_by,
                "minimum_limit": minimum_limit,
                "note": note,
            },
        )
    return policy


def _bands_checked(bands: str) -> str:
    """The bands as one string in order ("ED" -> "DE"); each of A-E, at least one."""
    letters = set(bands or "")
    if not letters or not letters <= set(RISK_BANDS) or len(letters) != len(bands):
        raise DomainError(
            "invalid_bands", "Name one or more of the bands A to E, each once (e.g. 'DE').", field="reduce_on_bands"
        )
    return "".join(sorted(letters))


def _reduce_by_checked(reduce_by: Decimal) -> None:
    if not Decimal(0) < reduce_by < Decimal(1) or reduce_by != reduce_by.quantize(Decimal("0.001")):
        raise DomainError(
            "invalid_share",
            "The cut is a share of the limit above 0 and below 1, to 3 places (0.3 takes 30 % away).",
            field="reduce_by",
        )
