"""The lending API, v1 (DESIGN.md "HTTP API"): one APIView per endpoint.

Each view validates its input, calls one service (writes) or selector (reads) and
renders; the rules live in lending/services.py. Serializers check only the shape of
the input (types, storage sizes, enumerations); amounts are Decimal with 2 places and
the services refuse what the book does not allow (422). Reads see the part of the book
the caller may read (selectors.loans_visible_to and its siblings): a collector, only the
borrowers, loans and credit lines of their cases; anything else is a 404.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from riskdesk.core import access, masking, vocabulary
from riskdesk.core.api import ErrorSerializer, RecordIdField, paginated_response, validated
from riskdesk.core.dates import business_today
from riskdesk.core.money import annual_rate
from riskdesk.core.permissions import HasRole, IsStaff
from riskdesk.core.roles import ADMIN, ALL_ROLES, PII_ROLES, SUPERVISOR, require_role
from riskdesk.lending import grace_preview, selectors, services
from riskdesk.lending.models import (
    AutodebitFailure,
    Borrower,
    CreditLine,
    CreditLineEvent,
    GracePolicy,
    IncidentWindow,
    Installment,
    Loan,
    Method,
    Payment,
    PenaltyBase,
    Product,
)

IS_ADMIN = HasRole(ADMIN)
MAX_RATE = Decimal("0.01")


def money(**kwargs: Any) -> serializers.DecimalField:
    """An amount in yuan: a decimal string with at most 2 places (DESIGN.md "Money")."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def errors(*codes: int) -> dict[int, type[ErrorSerializer]]:
    return dict.fromkeys(codes, ErrorSerializer)


# -- products --------------------------------------------------------------------------


class ProductOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "id",
            "code",
            "name",
            "daily_rate",
            "penalty_multiplier",
            "penalty_base",
            "methods",
            "terms",
            "min_amount",
            "max_amount",
        ]


class ProductListCreateApi(APIView):
    """List the products (every staff role) or add one (admin)."""

    permission_classes = [HasRole(ADMIN, read=ALL_ROLES)]
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        code = serializers.SlugField(max_length=32)
        name = serializers.CharField(max_length=100)
        daily_rate = serializers.DecimalField(
            max_digits=9, decimal_places=6, min_value=Decimal("0"), max_value=MAX_RATE
        )
        penalty_multiplier = serializers.DecimalField(
            max_digits=5, decimal_places=3, min_value=Decimal("0"), default=Decimal("1.500")
        )
        penalty_base = serializers.ChoiceField(choices=PenaltyBase.choices, default=PenaltyBase.PRINCIPAL)
        methods = serializers.ListField(child=serializers.ChoiceField(choices=Method.choices), allow_empty=False)
        terms = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=32767), allow_empty=False, max_length=100
        )
        min_amount = money(min_value=Decimal("0.01"))
        max_amount = money(min_value=Decimal("0.01"))

        def validate_methods(self, methods: list[str]) -> list[str]:
            return list(dict.fromkeys(methods))

        def validate_terms(self, terms: list[int]) -> list[int]:
            return sorted(set(terms))

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs["min_amount"] > attrs["max_amount"]:
                raise serializers.ValidationError({"max_amount": ["max_amount must not be below min_amount."]})
            return attrs

    @extend_schema(operation_id="products_list", responses={200: ProductOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return paginated_response(
            request=request, view=self, queryset=Product.objects.all(), serializer_class=ProductOutputSerializer
        )

    @extend_schema(
        operation_id="products_create",
        request=InputSerializer,
        responses={201: ProductOutputSerializer, **errors(400, 409)},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        product = services.product_create(actor=request.user, **data)
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


# -- borrowers ---------------------------------------------------------------------------


class BorrowerOutputSerializer(serializers.ModelSerializer):
    """A borrower, identity masked for every role: the full value is a reveal, audited (BorrowerRevealApi)."""

    class ContactPointSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        value = serializers.CharField()
        label = serializers.CharField()
        verification = serializers.CharField()
        status = serializers.CharField()
        last_success_at = serializers.DateTimeField(allow_null=True)

    class EmergencyContactSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        phone = serializers.CharField()
        relationship = serializers.CharField()
        consent = serializers.BooleanField()
        objected_at = serializers.DateTimeField(allow_null=True)

    contact_points = ContactPointSerializer(many=True)
    emergency_contacts = EmergencyContactSerializer(many=True)
    pii_masked = serializers.SerializerMethodField()

    class Meta:
        model = Borrower
        fields = [
            "id",
            "name",
            "national_id",
            "email",
            "address",
            "bank_card",
            "timezone",
            "language",
            "created_at",
            "pii_masked",
            "contact_points",
            "emergency_contacts",
        ]

    def get_pii_masked(self, borrower: Borrower) -> bool:
        return True

    def to_representation(self, borrower: Borrower) -> dict[str, Any]:
        data = super().to_representation(borrower)
        data["name"] = masking.mask_name(data["name"])
        data["national_id"] = masking.mask_national_id(data["national_id"])
        for field, kind in (("email", "email"), ("address", "address"), ("bank_card", "card")):
            data[field] = masking.mask(kind, data[field])
        for point in data["contact_points"]:
            if point["kind"] == "phone":
                point["value"] = masking.mask_phone(point["value"])
            elif point["kind"] == "email":
                point["value"] = masking.mask_email(point["value"])
        for contact in data["emergency_contacts"]:
            contact["name"] = masking.mask_name(contact["name"])
            contact["phone"] = masking.mask_phone(contact["phone"])
        return data


def render_borrower(borrower: Borrower) -> dict[str, Any]:
    borrower = Borrower.objects.prefetch_related("contact_points", "emergency_contacts").get(pk=borrower.pk)
    return BorrowerOutputSerializer(borrower).data


class BorrowerCreateApi(APIView):
    """Register a borrower with the phones and emergency contacts they gave (admin)."""

    permission_classes = [IS_ADMIN]

    class InputSerializer(serializers.Serializer):
        class PhoneSerializer(serializers.Serializer):
            number = serializers.RegexField(r"^\+?[0-9]{5,20}$", help_text="digits, optionally a leading +")
            label = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

        class EmergencyContactSerializer(serializers.Serializer):
            name = serializers.CharField(max_length=100)
            phone = serializers.RegexField(r"^\+?[0-9]{5,20}$")
            relationship = serializers.CharField(max_length=32)
            consent = serializers.BooleanField()

        name = serializers.CharField(max_length=100)
        national_id = serializers.CharField(max_length=32)
        phones = PhoneSerializer(many=True, max_length=10, default=list)
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        timezone = serializers.CharField(max_length=64, default="Asia/Shanghai")
        language = serializers.ChoiceField(choices=Borrower._meta.get_field("language").choices, default="zh-hans")
        emergency_contacts = EmergencyContactSerializer(many=True, max_length=10, default=list)
        address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
        bank_card = serializers.CharField(
            max_length=32,
            required=False,
            allow_blank=True,
            default="",
            help_text="the autodebit card: 12 to 19 digits passing the Luhn check; spaces and dashes are dropped",
        )

        def validate_bank_card(self, value: str) -> str:
            return card_number(value)

        def validate_phones(self, phones: list[dict[str, str]]) -> list[dict[str, str]]:
            numbers = [p["number"] for p in phones]
            if len(set(numbers)) != len(numbers):
                raise serializers.ValidationError("A phone number is listed twice.")
            return phones

    @extend_schema(
        operation_id="borrowers_create",
        request=InputSerializer,
        responses={201: BorrowerOutputSerializer, **errors(400, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        borrower = services.borrower_register(actor=request.user, **data)
        return Response(render_borrower(borrower), status=status.HTTP_201_CREATED)


def card_number(value: str) -> str:
    """A card number as stored: digits only, 12 to 19 of them, the last a Luhn check digit (ISO/IEC 7812)."""
    digits = "".join(ch for ch in value if ch not in " -")
    if not digits:
        return ""
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise serializers.ValidationError("A card number is 12 to 19 digits.")
    if not luhn_valid(digits):
        raise serializers.ValidationError("This card number fails its check digit (Luhn).")
    return digits


def luhn_valid(digits: str) -> bool:
    """The Luhn mod-10 check: double every second digit from the right, sum the digits, a multiple of 10."""
    total = 0
    for position, digit in enumerate(int(ch) for ch in reversed(digits)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


class BorrowerDetailApi(APIView):
    """A borrower with contact points and emergency contacts, masked; a PII role unmasks a value by a reveal."""

    permission_classes = [IsStaff]

    @extend_schema(operation_id="borrowers_retrieve", responses={200: BorrowerOutputSerializer, **errors(404)})
    def get(self, request: Request, borrower_id: int) -> Response:
        borrower = get_object_or_404(selectors.borrowers_visible_to(request.user), pk=borrower_id)
        return Response(render_borrower(borrower))


class BorrowerRevealApi(APIView):
    """One of a borrower's values unmasked, audited with who and why (admin, collections supervisor).

    The same rule as the case page's reveal (riskdesk.core.access.pii_reveal): only the
    roles that may see PII; anyone else gets 403 and nothing is written.
    """

    permission_classes = [IsStaff]

    class InputSerializer(serializers.Serializer):
        field = serializers.RegexField(
            access.REVEAL_FIELD,
            max_length=40,
            help_text="name, national_id, email, address, bank_card, point:<contact point id> or contact:<emergency contact id>",
        )
        reason = serializers.CharField(max_length=200, help_text="why the full value is needed; kept in the audit log")

    class OutputSerializer(serializers.Serializer):
        field = serializers.CharField()
        value = serializers.CharField()

    @extend_schema(
        operation_id="borrowers_reveal",
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 403, 404)},
    )
    def post(self, request: Request, borrower_id: int) -> Response:
        require_role(request.user, tuple(PII_ROLES), access.REVEAL_ACTION)
        borrower = get_object_or_404(Borrower, pk=borrower_id)
        data = validated(self.InputSerializer, request.data)
        value = access.pii_reveal(borrower=borrower, actor=request.user, **data)
        return Response(self.OutputSerializer({"field": data["field"], "value": value}).data)


# -- credit lines ---------------------------------------------------------------------------


class CreditLineOutputSerializer(serializers.ModelSerializer):
    """A credit line; `available` and `frozen_message` are set by render_credit_line."""

    class EventSerializer(serializers.ModelSerializer):
        class Meta:
            model = CreditLineEvent
            fields = ["on", "kind", "reason", "unfreeze_on", "limit_before", "limit_after"]

    available = money(read_only=True)
    frozen_message = serializers.CharField(read_only=True, allow_null=True)
    freeze_reasons = EventSerializer(source="events", many=True, read_only=True)

    class Meta:
        model = CreditLine
        fields = [
            "id",
            "borrower",
            "status",
            "limit",
            "available",
            "freeze_reason",
            "frozen_on",
            "unfreeze_on",
            "frozen_message",
            "freeze_reasons",
            "created_at",
        ]


def render_credit_line(line: CreditLine) -> dict[str, Any]:
    line.available = selectors.credit_line_available(line)
    line.frozen_message = services.frozen_message(line) if line.status == CreditLine.Status.FROZEN else None
    return CreditLineOutputSerializer(line).data


class CreditLineCreateApi(APIView):
    """Open a credit line for a borrower (admin)."""

    permission_classes = [IS_ADMIN]

    class InputSerializer(serializers.Serializer):
        borrower = RecordIdField(queryset=Borrower.objects.all())
        limit = money()

    @extend_schema(
        operation_id="credit_lines_create",
        request=InputSerializer,
        responses={201: CreditLineOutputSerializer, **errors(400, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        line = services.credit_line_open(actor=request.user, **data)
        return Response(render_credit_line(line), status=status.HTTP_201_CREATED)


class CreditLineDetailApi(APIView):
    """A credit line: what is available, and why and until when it is frozen."""

    permission_classes = [IsStaff]

    @extend_schema(operation_id="credit_lines_retrieve", responses={200: CreditLineOutputSerializer, **errors(404)})
    def get(self, request: Request, credit_line_id: int) -> Response:
        line = get_object_or_404(selectors.credit_lines_visible_to(request.user), pk=credit_line_id)
        return Response(render_credit_line(line))


# -- loans -----------------------------------------------------------------------------------


class InstallmentOutputSerializer(serializers.ModelSerializer):
    """One installment; its status as of context["on"] (the closed state date, else today)."""

    status = serializers.SerializerMethodField()

    class Meta:
        model = Installment
        fields = [
            "seq",
            "period_start",
            "due_date",
            "principal_due",
            "interest_due",
            "penalty_accrued",
            "principal_paid",
            "interest_paid",
            "penalty_paid",
            "grace_end",
            "status",
        ]

    def get_status(self, inst: Installment) -> str:
        return selectors.installment_status(inst, on=self.context["on"])


class AnnualRateField(serializers.DecimalField):
    """The nominal annual rate, daily x 365: for display only, never computed back."""

    def to_representation(self, value: Decimal) -> str:
        return super().to_representation(annual_rate(value))


class LoanListOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Loan
        fields = [
            "id",
            "borrower",
            "credit_line",
            "product",
            "principal",
            "term",
            "method",
            "disbursed_on",
            "status",
            "dpd",
            "bucket",
            "in_grace",
            "outstanding_principal",
            "overdue_amount",
            "risk_band",
        ]


class LoanOutputSerializer(serializers.ModelSerializer):
    """A loan with its delinquency (as of the last closed day), amounts and schedule."""

    class RiskReasonSerializer(serializers.Serializer):
        code = serializers.CharField()
        label = serializers.CharField()

    annual_rate = AnnualRateField(source="daily_rate", max_digits=12, decimal_places=6, read_only=True)
    dpd_explanation = serializers.SerializerMethodField()
    risk_reasons = serializers.SerializerMethodField()
    schedule = InstallmentOutputSerializer(source="installments", many=True, read_only=True)

    class Meta:
        model = Loan
        fields = [
            "id",
            "borrower",
            "credit_line",
            "product",
            "principal",
            "term",
            "method",
            "disbursed_on",
            "status",
            "paid_off_on",
            "dpd",
            "bucket",
            "in_grace",
            "grace_end",
            "outstanding_principal",
            "overdue_amount",
            "penalty_accrued",
            "risk_band",
            "risk_pd",
            "risk_score",
            "risk_reasons",
            "daily_rate",
            "annual_rate",
            "penalty_multiplier",
            "penalty_base",
            "dpd_explanation",
            "schedule",
        ]

    def get_dpd_explanation(self, loan: Loan) -> str:
        return selectors.explain_delinquency(loan).headline

    @extend_schema_field(RiskReasonSerializer(many=True))
    def get_risk_reasons(self, loan: Loan) -> list[dict[str, str]]:
        """The champion scorecard's reasons, worst first, in the desk's words (the request's language)."""
        codes = [code for code in loan.risk_reasons.split(",") if code]
        return [{"code": code, "label": str(vocabulary.label(code))} for code in codes]


def render_loan(loan: Loan) -> dict[str, Any]:
    loan = Loan.objects.prefetch_related("installments").get(pk=loan.pk)
    return LoanOutputSerializer(loan, context={"on": selectors.state_date() or business_today()}).data


class LoanListCreateApi(APIView):
    """List the loans the caller may read (filter by status, bucket, borrower) or draw one (admin)."""

    permission_classes = [HasRole(ADMIN, read=ALL_ROLES)]
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Loan.Status.choices, required=False)
        bucket = serializers.CharField(max_length=8, required=False)
        borrower = serializers.IntegerField(min_value=1, required=False)

    class InputSerializer(serializers.Serializer):
        credit_line = RecordIdField(queryset=CreditLine.objects.all())
        product = RecordIdField(queryset=Product.objects.all())
        principal = money()
        term = serializers.IntegerField(min_value=1, max_value=32767, help_text="months, or days for bullet")
        method = serializers.ChoiceField(choices=Method.choices)
        disbursed_on = serializers.DateField()

    @extend_schema(
        operation_id="loans_list",
        parameters=[FilterSerializer],
        responses={200: LoanListOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        lookups = {("borrower_id" if k == "borrower" else k): v for k, v in filters.items()}
        loans = selectors.loan_list(visible_to=request.user, **lookups)
        return paginated_response(request=request, view=self, queryset=loans, serializer_class=LoanListOutputSerializer)

    @extend_schema(
        operation_id="loans_create",
        request=InputSerializer,
        responses={201: LoanOutputSerializer, **errors(400, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        loan = services.loan_originate(actor=request.user, **data)
        return Response(render_loan(loan), status=status.HTTP_201_CREATED)


class LoanDetailApi(APIView):
    """A loan: status, days past due and why, bucket, grace, amounts and schedule."""

    permission_classes = [IsStaff]

    @extend_schema(operation_id="loans_retrieve", responses={200: LoanOutputSerializer, **errors(404)})
    def get(self, request: Request, loan_id: int) -> Response:
        return Response(render_loan(get_object_or_404(selectors.loans_visible_to(request.user), pk=loan_id)))


class PayoffQuoteApi(APIView):
    """What settles the loan on `on` (default: business today): the amount a payoff must carry."""

    permission_classes = [IsStaff]

    class FilterSerializer(serializers.Serializer):
        on = serializers.DateField(required=False, help_text="default: business today")

    class OutputSerializer(serializers.Serializer):
        on = serializers.DateField()
        total = money()
        principal = money()
        interest = money()
        penalty = money()
        overdue = money()

    @extend_schema(
        operation_id="loans_payoff_quote",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **errors(400, 404, 422)},
    )
    def get(self, request: Request, loan_id: int) -> Response:
        loan = get_object_or_404(selectors.loans_visible_to(request.user), pk=loan_id)
        filters = validated(self.FilterSerializer, request.query_params)
        on: date = filters.get("on") or business_today()
        return Response(self.OutputSerializer(selectors.payoff_quote(loan, on)).data)


# -- payments -----------------------------------------------------------------------------------


class PaymentOutputSerializer(serializers.ModelSerializer):
    class AllocationSerializer(serializers.Serializer):
        seq = serializers.IntegerField()
        penalty = money()
        interest = money()
        principal = money()

    allocation = AllocationSerializer(source="allocations", many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "loan",
            "amount",
            "value_date",
            "kind",
            "channel",
            "reference",
            "status",
            "unapplied",
            "reversed_at",
            "reversal_reason",
            "created_at",
            "allocation",
        ]


def render_payment(payment: Payment) -> dict[str, Any]:
    return PaymentOutputSerializer(Payment.objects.prefetch_related("allocations").get(pk=payment.pk)).data


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    description="Unique per payment; the same key with the same body returns the original payment (200), "
    "with another body 409.",
)


class LoanPaymentListCreateApi(APIView):
    """Post a payment to a loan (admin, collections supervisor) or list its payments (staff)."""

    permission_classes = [HasRole(ADMIN, SUPERVISOR, read=ALL_ROLES)]
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        amount = money()
        value_date = serializers.DateField(help_text="the day the money arrived: today or earlier")
        kind = serializers.ChoiceField(choices=Payment.Kind.choices)
        channel = serializers.ChoiceField(choices=Payment.Channel.choices)
        reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="loans_payments_list", responses={200: PaymentOutputSerializer(many=True), **errors(404)}
    )
    def get(self, request: Request, loan_id: int) -> Response:
        loan = get_object_or_404(selectors.loans_visible_to(request.user), pk=loan_id)
        payments = loan.payments.prefetch_related("allocations").order_by("value_date", "id")
        return paginated_response(
            request=request, view=self, queryset=payments, serializer_class=PaymentOutputSerializer
        )

    @extend_schema(
        operation_id="loans_payments_create",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: PaymentOutputSerializer, 200: PaymentOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, loan_id: int) -> Response:
        loan = get_object_or_404(Loan, pk=loan_id)
        key = idempotency_key(request)
        data = validated(self.InputSerializer, request.data)
        payment, created = services.payment_post(loan=loan, idempotency_key=key, actor=request.user, **data)
        return Response(render_payment(payment), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def idempotency_key(request: Request) -> str:
    """The request's Idempotency-Key header: required, 1 to 128 visible ASCII characters."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise serializers.ValidationError({"Idempotency-Key": ["This header is required."]})
    if len(key) > 128 or not key.isascii() or not key.isprintable():
        raise serializers.ValidationError({"Idempotency-Key": ["Use at most 128 printable ASCII characters."]})
    return key


class PaymentReverseApi(APIView):
    """Reverse a payment (a bounced autodebit); the loan is replayed from its value date (admin)."""

    permission_classes = [IS_ADMIN]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200)

    @extend_schema(
        operation_id="payments_reverse",
        request=InputSerializer,
        responses={200: PaymentOutputSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, payment_id: int) -> Response:
        payment = get_object_or_404(Payment, pk=payment_id)
        data = validated(self.InputSerializer, request.data)
        payment = services.payment_reverse(payment=payment, actor=request.user, **data)
        return Response(render_payment(payment))


class AutodebitFailureCreateApi(APIView):
    """Record a failed autodebit attempt with its cause (admin)."""

    permission_classes = [IS_ADMIN]

    class InputSerializer(serializers.Serializer):
        attempted_on = serializers.DateField()
        amount = money()
        cause = serializers.ChoiceField(choices=AutodebitFailure.Cause.choices)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = AutodebitFailure
            fields = ["id", "loan", "attempted_on", "amount", "cause", "created_at"]

    @extend_schema(
        operation_id="loans_autodebit_failures_create",
        request=InputSerializer,
        responses={201: OutputSerializer, **errors(400, 404, 422)},
    )
    def post(self, request: Request, loan_id: int) -> Response:
        loan = get_object_or_404(Loan, pk=loan_id)
        data = validated(self.InputSerializer, request.data)
        failure = services.autodebit_failure_record(loan=loan, actor=request.user, **data)
        return Response(self.OutputSerializer(failure).data, status=status.HTTP_201_CREATED)


# -- grace policies and incident windows ----------------------------------------------------------


class GracePolicyListCreateApi(APIView):
    """The grace-policy versions, or a new version in force from `effective_from` (admin)."""

    permission_classes = [IS_ADMIN]
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        product = RecordIdField(
            queryset=Product.objects.all(), allow_null=True, default=None, help_text="null: every product"
        )
        effective_from = serializers.DateField()
        grace_days = serializers.IntegerField(min_value=0, max_value=30, default=3)
        penalty_start = serializers.ChoiceField(
            choices=GracePolicy.PenaltyStart.choices, default=GracePolicy.PenaltyStart.DUE_DATE
        )
        arrears_tolerance = money(min_value=Decimal("0"), default=Decimal("1.00"))
        bureau_report_after_days = serializers.IntegerField(min_value=0, max_value=32767, default=30)
        cooling_off_days = serializers.IntegerField(min_value=0, max_value=32767, default=30)
        case_open_after_days = serializers.IntegerField(min_value=0, max_value=32767, default=0)
        note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = GracePolicy
            fields = ["id", "product", "effective_from", *GracePolicy.RULES, "note", "created_by", "created_at"]

    @extend_schema(operation_id="grace_policies_list", responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        policies = GracePolicy.objects.order_by("product_id", "effective_from", "id")
        return paginated_response(request=request, view=self, queryset=policies, serializer_class=self.OutputSerializer)

    @extend_schema(
        operation_id="grace_policies_create",
        request=InputSerializer,
        responses={201: OutputSerializer, **errors(400, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        policy = services.grace_policy_create(actor=request.user, **data)
        return Response(self.OutputSerializer(policy).data, status=status.HTTP_201_CREATED)


class IncidentWindowListCreateApi(APIView):
    """The incident windows, or a new one: installments due inside get extra grace (admin)."""

    permission_classes = [IS_ADMIN]
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        product = RecordIdField(
            queryset=Product.objects.all(), allow_null=True, default=None, help_text="null: every product"
        )
        start = serializers.DateField()
        end = serializers.DateField()
        extra_grace_days = serializers.IntegerField(min_value=0, max_value=32767)
        reason = serializers.CharField(max_length=200)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = IncidentWindow
            fields = ["id", "product", "start", "end", "extra_grace_days", "reason", "created_by", "created_at"]

    @extend_schema(operation_id="incident_windows_list", responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        windows = IncidentWindow.objects.order_by("-start", "-id")
        return paginated_response(request=request, view=self, queryset=windows, serializer_class=self.OutputSerializer)

    @extend_schema(
        operation_id="incident_windows_create",
        request=InputSerializer,
        responses={201: OutputSerializer, **errors(400, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        window = services.incident_window_create(actor=request.user, **data)
        return Response(self.OutputSerializer(window).data, status=status.HTTP_201_CREATED)


class GracePreviewMeasuresSerializer(serializers.Serializer):
    loans_in_grace = serializers.IntegerField(help_text="active loans past due, within grace")
    loans_overdue = serializers.IntegerField(help_text="active loans past due, past grace end")
    bureau_reportable = serializers.IntegerField(help_text="loans past grace more than bureau_report_after_days")
    cases_to_open = serializers.IntegerField(help_text="borrowers past grace end + case_open_after_days")
    penalty_income = money(help_text="penalty charged on installments due from window_start")


class GracePreviewRowSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product.pk", allow_null=True, help_text="null: the whole book")
    product_code = serializers.CharField(source="product.code", allow_null=True)
    in_force = GracePreviewMeasuresSerializer()
    draft = GracePreviewMeasuresSerializer()
    difference = GracePreviewMeasuresSerializer()


class GracePreviewSerializer(serializers.Serializer):
    kind = serializers.CharField(source="draft.kind")
    as_of = serializers.DateField(help_text="the last closed business day the book is as of")
    window_start = serializers.DateField(help_text="the first day replayed under the draft")
    loans_replayed = serializers.IntegerField()
    loans_changed = serializers.IntegerField(help_text="replayed loans whose state differs under the draft")
    products = GracePreviewRowSerializer(many=True)
    total = GracePreviewRowSerializer()


class GracePolicySimulateApi(APIView):
    """What a draft grace policy version or incident window would change, before it is saved (admin).

    The body is a grace policy's fields (`kind` "policy", the default) or an incident
    window's (`kind` "incident_window"), as their create endpoints take them. The answer
    compares, per product and in total, the policy in force with the draft on the last
    closed day, over the last 90 closed days replayed under each (lending/grace_preview.py).
    Nothing is saved.
    """

    permission_classes = [IS_ADMIN]

    class KindSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(
            choices=[grace_preview.POLICY, grace_preview.INCIDENT_WINDOW], default=grace_preview.POLICY
        )

    class PolicyInputSerializer(GracePolicyListCreateApi.InputSerializer):
        kind = serializers.ChoiceField(choices=[grace_preview.POLICY], default=grace_preview.POLICY)

    class IncidentWindowInputSerializer(IncidentWindowListCreateApi.InputSerializer):
        kind = serializers.ChoiceField(choices=[grace_preview.INCIDENT_WINDOW])
        extra_grace_days = serializers.IntegerField(min_value=1, max_value=30)
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            # Bounded so an absurd start (0001-01-01) is a 400, not a replay from year 1.
            earliest, latest = grace_preview.date_bounds()
            outside = {
                field: [f"Must lie between {earliest} and {latest}."]
                for field in ("start", "end")
                if not earliest <= data[field] <= latest
            }
            if outside:
                raise serializers.ValidationError(outside)
            if data["end"] < data["start"]:
                raise serializers.ValidationError({"end": ["The window ends before it starts."]})
            return data

    @extend_schema(
        operation_id="grace_policies_simulate",
        request=PolymorphicProxySerializer(
            component_name="GracePolicySimulateInput",
            serializers={
                grace_preview.POLICY: PolicyInputSerializer,
                grace_preview.INCIDENT_WINDOW: IncidentWindowInputSerializer,
            },
            resource_type_field_name="kind",
        ),
        responses={200: GracePreviewSerializer, **errors(400, 403, 422)},
    )
    def post(self, request: Request) -> Response:
        kind = validated(self.KindSerializer, request.data)["kind"]
        if kind == grace_preview.POLICY:
            data = validated(self.PolicyInputSerializer, request.data)
            draft: grace_preview.Draft = grace_preview.PolicyDraft(**_without_kind(data))
        else:
            data = validated(self.IncidentWindowInputSerializer, request.data)
            draft = grace_preview.WindowDraft(**_without_kind(data))
        preview = grace_preview.grace_policy_simulate(draft=draft)
        return Response(GracePreviewSerializer(preview).data)


def _without_kind(data: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in data.items() if name != "kind"}
