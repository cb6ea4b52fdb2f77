"""The collections API, v1 (DESIGN.md "HTTP API"): one APIView per endpoint.

Object-level permissions come from riskdesk.collections.access: a case the caller may
not see is a 404 (its existence is not disclosed); a case they see but may not act on
(a risk officer reads, an agency user only logs attempts) is a 403. Borrower identity
is always masked here, whatever the role: collectors dial contact points by id, never
by number, and unmasking is the borrower endpoint's reveal, audited, for the roles that
may see PII. Free text people type (an attempt's note, a complaint) is shown with its
numbers masked to every other role. An agency user never sees more than the masked case.

`POST /cases/next/` answers 404 {"error": {"code": "queue_empty"}} when nothing is
waiting, so a client handles one error shape rather than a bodiless 204.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from riskdesk.collections import access, arrangements, bureau, cases, complaints, contact, fieldvisits, promises
from riskdesk.collections.models import (
    Agency,
    Arrangement,
    Case,
    Channel,
    Complaint,
    ContactAttempt,
    ContactPolicy,
    Dispute,
    FieldVisit,
    MessageTemplate,
    Outcome,
    Promise,
    Purpose,
    Reminder,
    Stage,
)
from riskdesk.core import masking
from riskdesk.core.api import RecordIdField, paginated_response, validated
from riskdesk.core.audit import audit_record
from riskdesk.core.dates import is_month_end
from riskdesk.core.errors import DomainError, NotFound
from riskdesk.core.permissions import HasRole
from riskdesk.core.roles import ADMIN, AGENCY, COLLECTOR, RISK_OFFICER, SUPERVISOR, may_see_pii
from riskdesk.lending.api import errors, money
from riskdesk.lending.models import Borrower, ContactPoint, EmergencyContact, Loan

User = get_user_model()

CASE_READERS = (ADMIN, SUPERVISOR, COLLECTOR, RISK_OFFICER, AGENCY)
# Agency users log attempts on placed cases and nothing else; risk officers only read.
READ_CASES = HasRole(read=CASE_READERS)
LOG_ATTEMPTS = HasRole(ADMIN, SUPERVISOR, COLLECTOR, AGENCY, read=CASE_READERS)
WORK_CASES = HasRole(ADMIN, SUPERVISOR, COLLECTOR, read=CASE_READERS)
SUPERVISE = HasRole(ADMIN, SUPERVISOR)
IS_ADMIN = HasRole(ADMIN)
LATEST_ATTEMPTS = 10
LOG_WINDOW = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=1)


def case_to_act_on(request: Request, case_id: int) -> Case:
    """The case if the caller may act on it: 404 when they cannot see it, 403 when they only read it."""
    case = access.case_for(request.user, case_id)
    if not access.may_act_on_case(request.user, case):
        raise PermissionDenied
    return case


# -- output --------------------------------------------------------------------------------


class CaseListOutputSerializer(serializers.ModelSerializer):
    """A case in a list; the borrower's name masked."""

    borrower_name = serializers.SerializerMethodField()
    queue = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = serializers.CharField()
    stage = serializers.CharField()

    class Meta:
        model = Case
        fields = [
            "id",
            "borrower",
            "borrower_name",
            "status",
            "stage",
            "worst_bucket",
            "max_dpd",
            "overdue_amount",
            "expected_loss",
            "priority",
            "queue",
            "assigned_to",
            "next_promise_on",
            "opened_on",
            "agency",
        ]

    def get_borrower_name(self, case: Case) -> str:
        return masking.mask_name(case.borrower.name)


class FreeTextMaskedSerializer(serializers.ModelSerializer):
    """Free text (`FREE_TEXT`) with its phone-, ID- and card-shaped numbers masked unless the reader may see PII.

    A note or a complaint is typed by people, who write numbers into it; the reader is
    context["request"].user, and without a request (the case API) every reader gets it masked.
    """

    FREE_TEXT: tuple[str, ...] = ()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if not may_see_pii(getattr(request, "user", None)):
            for name in self.FREE_TEXT:
                if data.get(name):
                    data[name] = masking.mask_text(data[name])
        return data


class AttemptOutputSerializer(FreeTextMaskedSerializer):
    """One contact attempt, allowed or blocked, with the rule results and the policy version."""

    FREE_TEXT = ("message", "note")

    channel = serializers.CharField()
    purpose = serializers.CharField()
    source = serializers.CharField()
    outcome = serializers.CharField()
    policy_version = serializers.IntegerField(source="policy.version", allow_null=True, read_only=True)
    rule_results = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = ContactAttempt
        fields = [
            "id",
            "case",
            "borrower",
            "channel",
            "contact_point",
            "emergency_contact",
            "purpose",
            "source",
            "at",
            "allowed",
            "rule",
            "message",
            "next_allowed_at",
            "rule_results",
            "policy_version",
            "outcome",
            "note",
            "actor",
            "created_at",
        ]


class PromiseOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField()

    class Meta:
        model = Promise
        fields = [
            "id",
            "case",
            "loan",
            "attempt",
            "amount",
            "made_on",
            "due_on",
            "tolerance_days",
            "status",
            "paid_amount",
            "decided_on",
            "created_by",
        ]


class ArrangementOutputSerializer(serializers.ModelSerializer):
    kind = serializers.CharField()
    status = serializers.CharField()

    class Meta:
        model = Arrangement
        fields = [
            "id",
            "case",
            "loan",
            "kind",
            "months",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "broken_on",
        ]


class FieldVisitOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField()

    class Meta:
        model = FieldVisit
        fields = [
            "id",
            "case",
            "planned_at",
            "address",
            "reason",
            "staff",
            "status",
            "requested_by",
            "decided_by",
            "decided_at",
            "attempt",
            "outcome",
        ]


class DisputeOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dispute
        fields = ["id", "case", "borrower", "written", "opened_at", "resolved_at", "resolution", "note", "created_by"]


class CaseDetailOutputSerializer(serializers.ModelSerializer):
    """A case with the borrower's story: loans, contact points, promises, open arrangements, latest attempts."""

    class BorrowerSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.SerializerMethodField()
        national_id = serializers.SerializerMethodField()
        address = serializers.SerializerMethodField()
        bank_card = serializers.SerializerMethodField()
        timezone = serializers.CharField()
        language = serializers.CharField()

        def get_name(self, borrower: Any) -> str:
            return masking.mask_name(borrower.name)

        def get_national_id(self, borrower: Any) -> str:
            return masking.mask_national_id(borrower.national_id)

        def get_address(self, borrower: Any) -> str:
            return masking.mask("address", borrower.address)

        def get_bank_card(self, borrower: Any) -> str:
            return masking.mask("card", borrower.bank_card)

    class LoanSerializer(serializers.ModelSerializer):
        status = serializers.CharField()

        class Meta:
            model = Loan
            fields = [
                "id",
                "status",
                "dpd",
                "bucket",
                "in_grace",
                "overdue_amount",
                "outstanding_principal",
                "risk_band",
            ]

    class ContactPointSerializer(serializers.ModelSerializer):
        kind = serializers.CharField()
        value = serializers.SerializerMethodField()
        status = serializers.CharField()
        verification = serializers.CharField()

        class Meta:
            model = ContactPoint
            fields = ["id", "kind", "value", "label", "status", "verification", "last_success_at"]

        def get_value(self, point: ContactPoint) -> str:
            if point.kind == ContactPoint.Kind.PHONE:
                return masking.mask_phone(point.value)
            if point.kind == ContactPoint.Kind.EMAIL:
                return masking.mask_email(point.value)
            return "app"

    class EmergencyContactSerializer(serializers.ModelSerializer):
        name = serializers.SerializerMethodField()
        phone = serializers.SerializerMethodField()

        class Meta:
            model = EmergencyContact
            fields = ["id", "name", "phone", "relationship", "objected_at"]

        def get_name(self, contact: EmergencyContact) -> str:
            return masking.mask_name(contact.name)

        def get_phone(self, contact: EmergencyContact) -> str:
            return masking.mask_phone(contact.phone)

    borrower = BorrowerSerializer()
    pii_masked = serializers.SerializerMethodField()
    queue = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = serializers.CharField()
    stage = serializers.CharField()
    write_off_review = serializers.CharField()
    loans = LoanSerializer(many=True)
    contact_points = ContactPointSerializer(source="borrower.contact_points", many=True)
    emergency_contacts = EmergencyContactSerializer(source="borrower.emergency_contacts", many=True)
    promises = PromiseOutputSerializer(many=True)
    open_arrangements = ArrangementOutputSerializer(many=True)
    latest_attempts = AttemptOutputSerializer(many=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "borrower",
            "pii_masked",
            "status",
            "stage",
            "worst_bucket",
            "max_dpd",
            "overdue_amount",
            "expected_loss",
            "priority",
            "queue",
            "assigned_to",
            "assigned_at",
            "next_promise_on",
            "opened_on",
            "updated_on",
            "closed_on",
            "close_reason",
            "agency",
            "legal_escalated_on",
            "write_off_review",
            "loans",
            "contact_points",
            "emergency_contacts",
            "promises",
            "open_arrangements",
            "latest_attempts",
        ]

    def get_pii_masked(self, case: Case) -> bool:
        return True


def case_timeline(case: Case) -> QuerySet[ContactAttempt]:
    """The case's attempts, and the reminders sent to its borrower that belong to no case."""
    return ContactAttempt.objects.filter(
        Q(case=case) | Q(case__isnull=True, borrower_id=case.borrower_id)
    ).select_related("policy")


def render_case(case: Case) -> dict[str, Any]:
    case = (
        Case.objects.select_related("borrower", "queue")
        .prefetch_related("loans", "borrower__contact_points", "borrower__emergency_contacts", "promises")
        .get(pk=case.pk)
    )
    case.open_arrangements = case.arrangements.filter(
        status__in=[Arrangement.Status.REQUESTED, Arrangement.Status.ACTIVE]
    ).order_by("id")
    case.latest_attempts = case_timeline(case)[:LATEST_ATTEMPTS]
    return CaseDetailOutputSerializer(case).data


# -- cases ----------------------------------------------------------------------------------


class CaseListApi(APIView):
    """The cases the caller may see: `queue=mine` (assigned to the caller) or a queue's code."""

    permission_classes = [READ_CASES]
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        queue = serializers.CharField(max_length=32, required=False, help_text="'mine' or a queue's code")
        borrower = serializers.IntegerField(min_value=1, required=False)
        stage = serializers.ChoiceField(choices=Stage.choices, required=False)
        status = serializers.ChoiceField(choices=Case.Status.choices, required=False)

    @extend_schema(
        operation_id="cases_list",
        parameters=[FilterSerializer],
        responses={200: CaseListOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        visible = access.cases_visible_to(request.user).select_related("borrower", "queue")
        queue = filters.pop("queue", None)
        if queue == "mine":
            visible = visible.filter(assigned_to=request.user)
        elif queue:
            visible = visible.filter(queue__code=queue)
        lookups = {("borrower_id" if k == "borrower" else k): v for k, v in filters.items()}
        return paginated_response(
            request=request, view=self, queryset=visible.filter(**lookups), serializer_class=CaseListOutputSerializer
        )


class CaseDetailApi(APIView):
    """A case the caller may see, with the borrower's story (PII masked)."""

    permission_classes = [READ_CASES]

    @extend_schema(operation_id="cases_retrieve", responses={200: CaseDetailOutputSerializer, **errors(404)})
    def get(self, request: Request, case_id: int) -> Response:
        return Response(render_case(access.case_for(request.user, case_id)))


class CaseNextApi(APIView):
    """Hand the caller the next case of their queues (never one another collector holds); 404 queue_empty."""

    permission_classes = [HasRole(ADMIN, SUPERVISOR, COLLECTOR)]

    @extend_schema(
        operation_id="cases_next", request=None, responses={200: CaseDetailOutputSerializer, **errors(404, 422)}
    )
    def post(self, request: Request) -> Response:
        case = cases.case_next(collector=request.user)
        if case is None:
            raise NotFound("queue_empty", "No case is waiting in your queues.")
        return Response(render_case(case))


class CaseAssignApi(APIView):
    """Assign a case to a collector (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    class InputSerializer(serializers.Serializer):
        collector = RecordIdField(queryset=User.objects.filter(is_active=True))

    @extend_schema(
        operation_id="cases_assign",
        request=InputSerializer,
        responses={200: CaseDetailOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = access.case_for(request.user, case_id)
        data = validated(self.InputSerializer, request.data)
        case = cases.case_assign(case=case, collector=data["collector"], actor=request.user)
        return Response(render_case(case))


class CasesReassignApi(APIView):
    """Reassign many cases to one collector at once (supervisor, admin); answers how many moved."""

    permission_classes = [SUPERVISE]

    class InputSerializer(serializers.Serializer):
        cases = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000)
        collector = RecordIdField(queryset=User.objects.filter(is_active=True))

        def validate_cases(self, case_ids: list[int]) -> list[int]:
            return list(dict.fromkeys(case_ids))

    class OutputSerializer(serializers.Serializer):
        reassigned = serializers.IntegerField()

    @extend_schema(
        operation_id="cases_reassign",
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 404, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        try:
            moved = cases.cases_reassign(case_ids=data["cases"], collector=data["collector"], actor=request.user)
        except DomainError as refusal:
            # The service names its argument; the client sent "cases".
            refusal.field = "cases" if refusal.field == "case_ids" else refusal.field
            raise
        return Response(self.OutputSerializer({"reassigned": moved}).data)


# -- contact attempts ---------------------------------------------------------------------------

# Channels whose attempt reaches someone through a contact point, and the kinds they use.
POINT_KINDS = {
    Channel.CALL: {ContactPoint.Kind.PHONE},
    Channel.SMS: {ContactPoint.Kind.PHONE},
    Channel.EMAIL: {ContactPoint.Kind.EMAIL},
    Channel.PUSH: {ContactPoint.Kind.APP},
}
# A raw number or address in the request: the desk dials only registered contact points.
RAW_PARTY_FIELDS = ("phone", "number", "phone_number", "mobile", "to", "value", "address")


class NotPermittedParty(DomainError):
    def __init__(self, field: str) -> None:
        super().__init__(
            "not_permitted_party",
            "Only the borrower's registered contact points and emergency contacts may be contacted.",
            field=field,
        )


def refuse_party(request: Request, case: Case, field: str) -> None:
    """Record the refused try (field names and ids only: a stray number is not stored) and refuse it."""
    audit_record(
        actor=request.user,
        action="contact_attempt.not_permitted_party",
        entity=case,
        after={
            "field": field,
            "contact_point": request.data.get("contact_point"),
            "channel": request.data.get("channel"),
        },
        reason="not a registered contact point of the borrower",
    )
    raise NotPermittedParty(field)


def permitted_party(
    request: Request, case: Case, data: dict[str, Any]
) -> tuple[ContactPoint | None, EmergencyContact | None]:
    """The borrower's contact point or emergency contact the request names; anything else is refused."""
    raw = next((name for name in RAW_PARTY_FIELDS if name in request.data), None)
    if raw:
        refuse_party(request, case, raw)
    point = relative = None
    if data.get("contact_point") is not None:
        point = ContactPoint.objects.filter(pk=data["contact_point"], borrower_id=case.borrower_id).first()
        if point is None:
            refuse_party(request, case, "contact_point")
    if data.get("emergency_contact") is not None:
        relative = EmergencyContact.objects.filter(pk=data["emergency_contact"], borrower_id=case.borrower_id).first()
        if relative is None:
            refuse_party(request, case, "emergency_contact")
    return point, relative


def check_party_fits_channel(channel: str, point: ContactPoint | None, relative: EmergencyContact | None) -> None:
    kinds = POINT_KINDS.get(channel)
    if kinds is None:
        return
    if point is None and relative is None:
        raise serializers.ValidationError({"contact_point": ["Pick one of the borrower's contact points."]})
    if point is not None and point.kind not in kinds:
        raise serializers.ValidationError({"contact_point": [f"A {point.kind} contact point cannot take a {channel}."]})
    if relative is not None and channel not in (Channel.CALL, Channel.SMS):
        raise serializers.ValidationError({"emergency_contact": ["An emergency contact is reached by call or SMS."]})


@extend_schema_field(OpenApiTypes.STR)
class AttemptChannelField(serializers.ChoiceField):
    """call, sms, email, push or letter; a visit is recorded through its field visit, which carries the approval.

    Documented as a plain string: payments already own the schema's "channel" enum name.
    """

    def __init__(self, **kwargs: Any) -> None:
        choices = [choice for choice in Channel.choices if choice[0] != Channel.VISIT]
        super().__init__(choices=choices, help_text="call, sms, email, push or letter", **kwargs)


class CaseAttemptListCreateApi(APIView):
    """Log a contact attempt through the compliance gate (201, or 422 contact_blocked), or read the timeline."""

    permission_classes = [LOG_ATTEMPTS]
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        channel = AttemptChannelField()
        contact_point = serializers.IntegerField(
            min_value=1, required=False, allow_null=True, help_text="an id from the case's contact_points"
        )
        emergency_contact = serializers.IntegerField(min_value=1, required=False, allow_null=True)
        purpose = serializers.ChoiceField(choices=Purpose.choices, default=Purpose.COLLECT)
        at = serializers.DateTimeField(
            required=False, help_text="when it happened: default now; at most 15 minutes ago, never in the future"
        )
        template = RecordIdField(
            queryset=MessageTemplate.objects.all(),
            required=False,
            allow_null=True,
            help_text="sms, email and push go out only from an approved template",
        )
        outcome = serializers.ChoiceField(choices=[c for c in Outcome.choices if c[0] != Outcome.BLOCKED])
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

        def validate_at(self, at: datetime) -> datetime:
            # Logged as it happens: the gate judges the contact at `at`, so an attempt
            # backdated into an earlier hour could slip past quiet hours or a cap.
            now = timezone.now()
            if at > now + CLOCK_SKEW:
                raise serializers.ValidationError("An attempt cannot be logged in the future.")
            if at < now - LOG_WINDOW:
                raise serializers.ValidationError("Log an attempt as it happens: at most 15 minutes ago.")
            return at

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs.get("contact_point") is not None and attrs.get("emergency_contact") is not None:
                raise serializers.ValidationError({"emergency_contact": ["Name one party: a contact point or one."]})
            return attrs

    @extend_schema(
        operation_id="cases_contact_attempts_list",
        responses={200: AttemptOutputSerializer(many=True), **errors(404)},
    )
    def get(self, request: Request, case_id: int) -> Response:
        attempts = case_timeline(access.case_for(request.user, case_id))
        return paginated_response(
            request=request, view=self, queryset=attempts, serializer_class=AttemptOutputSerializer
        )

    @extend_schema(
        operation_id="cases_contact_attempts_create",
        request=InputSerializer,
        responses={201: AttemptOutputSerializer, **errors(400, 403, 404, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = case_to_act_on(request, case_id)
        data = validated(self.InputSerializer, request.data)
        point, relative = permitted_party(request, case, data)
        check_party_fits_channel(data["channel"], point, relative)
        attempt = contact.contact_attempt_log(
            case=case,
            channel=data["channel"],
            at=data.get("at") or timezone.now(),
            outcome=data["outcome"],
            actor=request.user,
            source=ContactAttempt.Source.API,
            contact_point=point,
            emergency_contact=relative,
            purpose=data["purpose"],
            note=data["note"],
            template=data.get("template"),
        )
        return Response(
            AttemptOutputSerializer(attempt, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


# -- promises, arrangements, disputes --------------------------------------------------------------


def case_loan(case: Case, loan: Loan | None, field: str = "loan") -> Loan | None:
    if loan is not None and not case.loans.filter(pk=loan.pk).exists():
        raise serializers.ValidationError({field: ["This loan is not one of the case's loans."]})
    return loan


class CasePromiseCreateApi(APIView):
    """Record a promise to pay on a case (the case's collector, supervisor, admin)."""

    permission_classes = [WORK_CASES]

    class InputSerializer(serializers.Serializer):
        amount = money()
        due_on = serializers.DateField()
        loan = RecordIdField(queryset=Loan.objects.all(), required=False, allow_null=True, default=None)
        tolerance_days = serializers.IntegerField(min_value=0, max_value=7, default=1)
        attempt = RecordIdField(queryset=ContactAttempt.objects.all(), required=False, allow_null=True, default=None)

    @extend_schema(
        operation_id="cases_promises_create",
        request=InputSerializer,
        responses={201: PromiseOutputSerializer, **errors(400, 403, 404, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = case_to_act_on(request, case_id)
        data = validated(self.InputSerializer, request.data)
        case_loan(case, data["loan"])
        if data["attempt"] is not None and data["attempt"].case_id != case.pk:
            raise serializers.ValidationError({"attempt": ["This attempt is not one of the case's."]})
        promise = promises.promise_create(case=case, actor=request.user, **data)
        return Response(PromiseOutputSerializer(promise).data, status=status.HTTP_201_CREATED)


class CaseArrangementCreateApi(APIView):
    """Request a hardship arrangement on one of the case's loans; a supervisor approves it."""

    permission_classes = [WORK_CASES]

    class InputSerializer(serializers.Serializer):
        loan = RecordIdField(queryset=Loan.objects.all())
        kind = serializers.ChoiceField(choices=Arrangement.Kind.choices)
        months = serializers.IntegerField(min_value=1, max_value=36, required=False, allow_null=True, default=None)
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        operation_id="cases_arrangements_create",
        request=InputSerializer,
        responses={201: ArrangementOutputSerializer, **errors(400, 403, 404, 409, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = case_to_act_on(request, case_id)
        data = validated(self.InputSerializer, request.data)
        case_loan(case, data["loan"])
        arrangement = arrangements.arrangement_request(case=case, actor=request.user, **data)
        return Response(ArrangementOutputSerializer(arrangement).data, status=status.HTTP_201_CREATED)


def visible_arrangement(request: Request, arrangement_id: int) -> Arrangement:
    arrangement = get_object_or_404(Arrangement, pk=arrangement_id)
    access.case_for(request.user, arrangement.case_id)
    return arrangement


class ArrangementApproveApi(APIView):
    """Approve a requested arrangement: lending services carry it out on the loan (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="arrangements_approve",
        request=InputSerializer,
        responses={200: ArrangementOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, arrangement_id: int) -> Response:
        arrangement = visible_arrangement(request, arrangement_id)
        data = validated(self.InputSerializer, request.data)
        arrangement = arrangements.arrangement_approve(arrangement=arrangement, actor=request.user, **data)
        return Response(ArrangementOutputSerializer(arrangement).data)


class ArrangementRejectApi(APIView):
    """Reject a requested arrangement, saying why (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=200)

    @extend_schema(
        operation_id="arrangements_reject",
        request=InputSerializer,
        responses={200: ArrangementOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, arrangement_id: int) -> Response:
        arrangement = visible_arrangement(request, arrangement_id)
        data = validated(self.InputSerializer, request.data)
        arrangement = arrangements.arrangement_reject(arrangement=arrangement, actor=request.user, **data)
        return Response(ArrangementOutputSerializer(arrangement).data)


class CaseDisputeCreateApi(APIView):
    """Open a dispute: collection contact with the borrower pauses until it is resolved."""

    permission_classes = [WORK_CASES]

    class InputSerializer(serializers.Serializer):
        written = serializers.BooleanField(default=False)
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="cases_disputes_create",
        request=InputSerializer,
        responses={201: DisputeOutputSerializer, **errors(400, 403, 404, 409, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = case_to_act_on(request, case_id)
        data = validated(self.InputSerializer, request.data)
        dispute = contact.dispute_open(borrower=case.borrower, case=case, actor=request.user, at=timezone.now(), **data)
        return Response(DisputeOutputSerializer(dispute).data, status=status.HTTP_201_CREATED)


class DisputeResolveApi(APIView):
    """Resolve a dispute, saying how; contact may resume (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    class InputSerializer(serializers.Serializer):
        resolution = serializers.CharField(max_length=200)

    @extend_schema(
        operation_id="disputes_resolve",
        request=InputSerializer,
        responses={200: DisputeOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, dispute_id: int) -> Response:
        dispute = get_object_or_404(Dispute, pk=dispute_id)
        data = validated(self.InputSerializer, request.data)
        dispute = contact.dispute_resolve(dispute=dispute, actor=request.user, **data)
        return Response(DisputeOutputSerializer(dispute).data)


# -- field visits -----------------------------------------------------------------------------------


class CaseFieldVisitCreateApi(APIView):
    """Request a field visit: over the policy threshold, two staff or more, then a supervisor approves."""

    permission_classes = [WORK_CASES]

    class InputSerializer(serializers.Serializer):
        planned_at = serializers.DateTimeField()
        address = serializers.CharField(max_length=200)
        reason = serializers.CharField(max_length=2000)
        staff = serializers.ListField(
            child=RecordIdField(queryset=User.objects.filter(is_active=True)), allow_empty=False, max_length=10
        )

        def validate_staff(self, staff: list[Any]) -> list[Any]:
            return list(dict.fromkeys(staff))

    @extend_schema(
        operation_id="cases_field_visits_create",
        request=InputSerializer,
        responses={201: FieldVisitOutputSerializer, **errors(400, 403, 404, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = case_to_act_on(request, case_id)
        data = validated(self.InputSerializer, request.data)
        visit = fieldvisits.field_visit_request(case=case, actor=request.user, **data)
        return Response(FieldVisitOutputSerializer(visit).data, status=status.HTTP_201_CREATED)


def visible_visit(request: Request, visit_id: int) -> FieldVisit:
    visit = get_object_or_404(FieldVisit, pk=visit_id)
    access.case_for(request.user, visit.case_id)
    return visit


class FieldVisitApproveApi(APIView):
    """Approve a requested field visit (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    @extend_schema(
        operation_id="field_visits_approve",
        request=None,
        responses={200: FieldVisitOutputSerializer, **errors(404, 409, 422)},
    )
    def post(self, request: Request, visit_id: int) -> Response:
        visit = fieldvisits.field_visit_approve(visit=visible_visit(request, visit_id), actor=request.user)
        return Response(FieldVisitOutputSerializer(visit).data)


class FieldVisitRejectApi(APIView):
    """Reject a requested field visit, saying why (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=200)

    @extend_schema(
        operation_id="field_visits_reject",
        request=InputSerializer,
        responses={200: FieldVisitOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, visit_id: int) -> Response:
        visit = visible_visit(request, visit_id)
        data = validated(self.InputSerializer, request.data)
        visit = fieldvisits.field_visit_reject(visit=visit, actor=request.user, **data)
        return Response(FieldVisitOutputSerializer(visit).data)


class FieldVisitRecordApi(APIView):
    """Record how an approved visit went; the visit is checked by the compliance gate as an attempt."""

    permission_classes = [WORK_CASES]

    class InputSerializer(serializers.Serializer):
        at = serializers.DateTimeField()
        outcome = serializers.CharField(max_length=2000)

        def validate_at(self, at: datetime) -> datetime:
            if at > timezone.now():
                raise serializers.ValidationError("A visit cannot be recorded before it happens.")
            return at

    @extend_schema(
        operation_id="field_visits_record",
        request=InputSerializer,
        responses={200: FieldVisitOutputSerializer, **errors(400, 403, 404, 409, 422)},
    )
    def post(self, request: Request, visit_id: int) -> Response:
        visit = get_object_or_404(FieldVisit, pk=visit_id)
        case_to_act_on(request, visit.case_id)
        data = validated(self.InputSerializer, request.data)
        visit = fieldvisits.field_visit_record(visit=visit, actor=request.user, **data)
        return Response(FieldVisitOutputSerializer(visit).data)


# -- agency, legal, write-off ------------------------------------------------------------------------


class CasePlaceApi(APIView):
    """Place a case with an outside agency once the borrower has been notified (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    class InputSerializer(serializers.Serializer):
        agency = RecordIdField(queryset=Agency.objects.all())
        borrower_notified_at = serializers.DateTimeField()
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="cases_place",
        request=InputSerializer,
        responses={200: CaseDetailOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = access.case_for(request.user, case_id)
        data = validated(self.InputSerializer, request.data)
        cases.case_place_with_agency(case=case, actor=request.user, **data)
        return Response(render_case(case))


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class CaseRecallApi(APIView):
    """Recall a case from its agency (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    class InputSerializer(ReasonSerializer):
        pass

    @extend_schema(
        operation_id="cases_recall",
        request=InputSerializer,
        responses={200: CaseDetailOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = access.case_for(request.user, case_id)
        data = validated(self.InputSerializer, request.data)
        cases.case_recall_from_agency(case=case, actor=request.user, **data)
        return Response(render_case(case))


class CaseEscalateLegalApi(APIView):
    """Escalate a case to legal (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    class InputSerializer(ReasonSerializer):
        pass

    @extend_schema(
        operation_id="cases_escalate_legal",
        request=InputSerializer,
        responses={200: CaseDetailOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = access.case_for(request.user, case_id)
        data = validated(self.InputSerializer, request.data)
        cases.case_escalate_legal(case=case, actor=request.user, **data)
        return Response(render_case(case))


class CaseWriteOffReviewApi(APIView):
    """Decide a case's write-off review (supervisor, admin)."""

    permission_classes = [SUPERVISE]

    class InputSerializer(serializers.Serializer):
        approve = serializers.BooleanField()
        reason = serializers.CharField(max_length=200)

    @extend_schema(
        operation_id="cases_write_off_review",
        request=InputSerializer,
        responses={200: CaseDetailOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = access.case_for(request.user, case_id)
        data = validated(self.InputSerializer, request.data)
        cases.case_write_off_review_decide(case=case, actor=request.user, **data)
        return Response(render_case(case))


# -- contact policies ---------------------------------------------------------------------------------

# The rule fields of a policy version an admin may set over the preset's values.
POLICY_RULES = list(ContactPolicy.RULES)


def preset_values(preset: str) -> dict[str, Any]:
    return contact.PRESETS.get(preset, {})


class ContactPolicyOutputSerializer(serializers.ModelSerializer):
    preset = serializers.CharField()

    class Meta:
        model = ContactPolicy
        fields = ["id", "version", "preset", "effective_from", *POLICY_RULES, "note", "created_by", "created_at"]


class ContactPolicyListCreateApi(APIView):
    """The contact-policy versions, newest first, or a new version from a preset and overrides (admin)."""

    permission_classes = [IS_ADMIN]
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.ModelSerializer):
        """A preset, when it takes effect, and any rule to set otherwise than the preset."""

        preset = serializers.ChoiceField(choices=ContactPolicy.Preset.choices)
        effective_from = serializers.DateTimeField()

        class Meta:
            model = ContactPolicy
            fields = ["preset", "effective_from", *POLICY_RULES, "note"]
            extra_kwargs = {
                **{name: {"required": False} for name in POLICY_RULES},
                "field_visit_min_staff": {"required": False, "min_value": 2},
                "field_visit_min_overdue": {"required": False, "min_value": 0},
            }

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(dict.fromkeys(unknown, ["Not a field of a contact policy."]))
            merged = {**preset_values(attrs["preset"]), **attrs}
            start, end = merged.get("quiet_start"), merged.get("quiet_end")
            if start is not None and start == end:
                raise serializers.ValidationError(
                    {"quiet_end": ["Quiet hours must not start and end at the same time."]}
                )
            return attrs

    @extend_schema(operation_id="contact_policies_list", responses={200: ContactPolicyOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        policies = ContactPolicy.objects.order_by("-version")
        return paginated_response(
            request=request, view=self, queryset=policies, serializer_class=ContactPolicyOutputSerializer
        )

    @extend_schema(
        operation_id="contact_policies_create",
        request=InputSerializer,
        responses={201: ContactPolicyOutputSerializer, **errors(400, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        data = dict(validated(self.InputSerializer, request.data))
        policy = contact.contact_policy_create(
            preset=data.pop("preset"), effective_from=data.pop("effective_from"), actor=request.user, **data
        )
        return Response(ContactPolicyOutputSerializer(policy).data, status=status.HTTP_201_CREATED)


# -- reminders and the bureau ------------------------------------------------------------------------


class ReminderListApi(APIView):
    """The planned and sent reminders, newest first (supervisor, admin)."""

    permission_classes = [SUPERVISE]
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Reminder.Status.choices, required=False)
        borrower = serializers.IntegerField(min_value=1, required=False)

    class OutputSerializer(serializers.ModelSerializer):
        step = serializers.SlugRelatedField(slug_field="code", read_only=True)
        installment_seq = serializers.IntegerField(source="installment.seq", read_only=True)
        status = serializers.CharField()
        channel = serializers.CharField()

        class Meta:
            model = Reminder
            fields = [
                "id",
                "borrower",
                "loan",
                "installment_seq",
                "step",
                "planned_for",
                "status",
                "channel",
                "tries",
                "next_try_at",
                "sent_at",
                "attempt",
                "detail",
            ]

    @extend_schema(
        operation_id="reminders_list",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        lookups = {("borrower_id" if k == "borrower" else k): v for k, v in filters.items()}
        reminders = (
            Reminder.objects.filter(**lookups).select_related("step", "installment").order_by("-planned_for", "-id")
        )
        return paginated_response(
            request=request, view=self, queryset=reminders, serializer_class=self.OutputSerializer
        )


class CsvRenderer(BaseRenderer):
    """text/csv for a client that asks for it; an error still reads as the JSON error shape."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data.encode() if isinstance(data, str) else json.dumps(data, default=str).encode()


class BureauExportApi(APIView):
    """The credit-bureau file of a month (CSV), generated on first request and the same bytes after (admin, risk officer)."""

    permission_classes = [HasRole(ADMIN, RISK_OFFICER)]
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="bureau_exports_retrieve",
        responses={(200, "text/csv"): OpenApiTypes.STR, **errors(400, 422)},
    )
    def get(self, request: Request, month_end: str) -> HttpResponse:
        day = month_end_date(month_end)
        export = bureau.bureau_export_generate(month_end=day, actor=request.user)
        content, sha256 = export.content, export.sha256
        if not may_see_pii(request.user):
            # The file the bureau gets carries whole national IDs; a risk officer reads it masked.
            content = masking.mask_csv_column(content, column="national_id", kind="national_id")
            sha256 = hashlib.sha256(content.encode()).hexdigest()
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="bureau-{day.isoformat()}.csv"'
        response["X-Content-SHA256"] = sha256
        response["X-PII-Masked"] = "false" if content is export.content else "true"
        return response


def month_end_date(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError({"month_end": ["Use a date, YYYY-MM-DD."]}) from None
    if not is_month_end(day):
        raise serializers.ValidationError({"month_end": ["Use the last day of a month."]})
    return day


# -- complaints ----------------------------------------------------------------------------------

# Whoever takes the borrower's call may record a complaint; reading them all is for
# those who answer for conduct (a collector sees their own cases, not the desk's complaints).
RECORD_COMPLAINTS = HasRole(ADMIN, SUPERVISOR, COLLECTOR)
READ_COMPLAINTS = HasRole(ADMIN, SUPERVISOR, RISK_OFFICER)


@extend_schema_field(OpenApiTypes.STR)
class ComplaintChannelField(serializers.ChoiceField):
    """How a complaint arrived, any channel; a plain string in the schema, like AttemptChannelField."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Channel.choices, help_text="call, sms, email, push, letter or visit", **kwargs)


class ComplaintOutputSerializer(FreeTextMaskedSerializer):
    FREE_TEXT = ("description", "resolution")

    channel = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()

    class Meta:
        model = Complaint
        fields = [
            "id",
            "borrower",
            "case",
            "channel",
            "category",
            "received_at",
            "description",
            "status",
            "resolved_at",
            "resolution",
            "created_by",
            "created_at",
        ]


class ComplaintListCreateApi(APIView):
    """List complaints, newest first (supervisor, admin, risk officer); record one (collector, supervisor, admin)."""

    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Complaint.Status.choices, required=False)
        category = serializers.ChoiceField(choices=Complaint.Category.choices, required=False)
        borrower = serializers.IntegerField(min_value=1, required=False)
        case = serializers.IntegerField(min_value=1, required=False)

    class InputSerializer(serializers.Serializer):
        borrower = RecordIdField(queryset=Borrower.objects.all())
        case = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
        channel = ComplaintChannelField()
        category = serializers.ChoiceField(choices=Complaint.Category.choices)
        received_at = serializers.DateTimeField(required=False, help_text="when it arrived; default now")
        description = serializers.CharField(max_length=4000)

    def get_permissions(self) -> list[HasRole]:
        return [READ_COMPLAINTS if self.request.method in ("GET", "HEAD", "OPTIONS") else RECORD_COMPLAINTS]

    @extend_schema(
        operation_id="complaints_list",
        parameters=[FilterSerializer],
        responses={200: ComplaintOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        lookups = {(f"{k}_id" if k in ("borrower", "case") else k): v for k, v in filters.items()}
        complaints_found = Complaint.objects.filter(**lookups).order_by("-received_at", "-id")
        return paginated_response(
            request=request, view=self, queryset=complaints_found, serializer_class=ComplaintOutputSerializer
        )

    @extend_schema(
        operation_id="complaints_create",
        request=InputSerializer,
        responses={201: ComplaintOutputSerializer, **errors(400, 403, 404, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        # A case the caller cannot see is a 404, as everywhere in this API.
        case = case_to_act_on(request, data["case"]) if data["case"] is not None else None
        complaint = complaints.complaint_record(
            borrower=data["borrower"],
            case=case,
            channel=data["channel"],
            category=data["category"],
            received_at=data.get("received_at") or timezone.now(),
            description=data["description"],
            actor=request.user,
        )
        return Response(
            ComplaintOutputSerializer(complaint, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class ComplaintResolveApi(APIView):
    """Resolve a complaint, saying how (supervisor, admin); 409 when it is already resolved."""

    permission_classes = [SUPERVISE]

    class InputSerializer(serializers.Serializer):
        resolution = serializers.CharField(max_length=200)

    @extend_schema(
        operation_id="complaints_resolve",
        request=InputSerializer,
        responses={200: ComplaintOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, complaint_id: int) -> Response:
        complaint = get_object_or_404(Complaint, pk=complaint_id)
        data = validated(self.InputSerializer, request.data)
        complaint = complaints.complaint_resolve(complaint=complaint, actor=request.user, **data)
        return Response(ComplaintOutputSerializer(complaint, context={"request": request}).data)
