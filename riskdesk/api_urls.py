"""The HTTP API, v1 (DESIGN.md "HTTP API")."""

from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from riskdesk.api import CloseDayApi
from riskdesk.collections import api as collections
from riskdesk.core.api import JobRunListApi, NotFoundApi, RetentionPolicyListCreateApi, TokenObtainApi
from riskdesk.lending import api as lending
from riskdesk.riskmodels import api as riskmodels

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("products/", lending.ProductListCreateApi.as_view(), name="api-products"),
    path("borrowers/", lending.BorrowerCreateApi.as_view(), name="api-borrowers"),
    path("borrowers/<int:borrower_id>/", lending.BorrowerDetailApi.as_view(), name="api-borrower"),
    path("borrowers/<int:borrower_id>/reveal/", lending.BorrowerRevealApi.as_view(), name="api-borrower-reveal"),
    path("credit-lines/", lending.CreditLineCreateApi.as_view(), name="api-credit-lines"),
    path("credit-lines/<int:credit_line_id>/", lending.CreditLineDetailApi.as_view(), name="api-credit-line"),
    path("loans/", lending.LoanListCreateApi.as_view(), name="api-loans"),
    path("loans/<int:loan_id>/", lending.LoanDetailApi.as_view(), name="api-loan"),
    path("loans/<int:loan_id>/payoff-quote/", lending.PayoffQuoteApi.as_view(), name="api-loan-payoff-quote"),
    path("loans/<int:loan_id>/payments/", lending.LoanPaymentListCreateApi.as_view(), name="api-loan-payments"),
    path(
        "loans/<int:loan_id>/autodebit-failures/",
        lending.AutodebitFailureCreateApi.as_view(),
        name="api-loan-autodebit-failures",
    ),
    path("payments/<int:payment_id>/reverse/", lending.PaymentReverseApi.as_view(), name="api-payment-reverse"),
    path("grace-policies/", lending.GracePolicyListCreateApi.as_view(), name="api-grace-policies"),
    path(
        "grace-policies/simulate/",
        lending.GracePolicySimulateApi.as_view(),
        name="api-grace-policies-simulate",
    ),
    path("incident-windows/", lending.IncidentWindowListCreateApi.as_view(), name="api-incident-windows"),
    path("operations/close-day/", CloseDayApi.as_view(), name="api-close-day"),
    path("operations/job-runs/", JobRunListApi.as_view(), name="api-job-runs"),
    path("retention-policies/", RetentionPolicyListCreateApi.as_view(), name="api-retention-policies"),
    # -- collections
    path("cases/", collections.CaseListApi.as_view(), name="api-cases"),
    path("cases/next/", collections.CaseNextApi.as_view(), name="api-cases-next"),
    path("cases/reassign/", collections.CasesReassignApi.as_view(), name="api-cases-reassign"),
    path("cases/<int:case_id>/", collections.CaseDetailApi.as_view(), name="api-case"),
    path("cases/<int:case_id>/assign/", collections.CaseAssignApi.as_view(), name="api-case-assign"),
    path(
        "cases/<int:case_id>/contact-attempts/",
        collections.CaseAttemptListCreateApi.as_view(),
        name="api-case-contact-attempts",
    ),
    path("cases/<int:case_id>/promises/", collections.CasePromiseCreateApi.as_view(), name="api-case-promises"),
    path(
        "cases/<int:case_id>/arrangements/",
        collections.CaseArrangementCreateApi.as_view(),
        name="api-case-arrangements",
    ),
    path("cases/<int:case_id>/disputes/", collections.CaseDisputeCreateApi.as_view(), name="api-case-disputes"),
    path(
        "cases/<int:case_id>/field-visits/",
        collections.CaseFieldVisitCreateApi.as_view(),
        name="api-case-field-visits",
    ),
    path("cases/<int:case_id>/place/", collections.CasePlaceApi.as_view(), name="api-case-place"),
    path("cases/<int:case_id>/recall/", collections.CaseRecallApi.as_view(), name="api-case-recall"),
    path(
        "cases/<int:case_id>/escalate-legal/",
        collections.CaseEscalateLegalApi.as_view(),
        name="api-case-escalate-legal",
    ),
    path(
        "cases/<int:case_id>/write-off-review/",
        collections.CaseWriteOffReviewApi.as_view(),
        name="api-case-write-off-review",
    ),
    path(
        "arrangements/<int:arrangement_id>/approve/",
        collections.ArrangementApproveApi.as_view(),
        name="api-arrangement-approve",
    ),
    path(
        "arrangements/<int:arrangement_id>/reject/",
        collections.ArrangementRejectApi.as_view(),
        name="api-arrangement-reject",
    ),
    path("disputes/<int:dispute_id>/resolve/", collections.DisputeResolveApi.as_view(), name="api-dispute-resolve"),
    path(
        "field-visits/<int:visit_id>/approve/",
        collections.FieldVisitApproveApi.as_view(),
        name="api-field-visit-approve",
    ),
    path(
        "field-visits/<int:visit_id>/reject/",
        collections.FieldVisitRejectApi.as_view(),
        name="api-field-visit-reject",
    ),
    path(
        "field-visits/<int:visit_id>/record/",
        collections.FieldVisitRecordApi.as_view(),
        name="api-field-visit-record",
    ),
    path("complaints/", collections.ComplaintListCreateApi.as_view(), name="api-complaints"),
    path(
        "complaints/<int:complaint_id>/resolve/",
        collections.ComplaintResolveApi.as_view(),
        name="api-complaint-resolve",
    ),
    path("contact-policies/", collections.ContactPolicyListCreateApi.as_view(), name="api-contact-policies"),
    path("reminders/", collections.ReminderListApi.as_view(), name="api-reminders"),
    path("bureau-exports/<str:month_end>/", collections.BureauExportApi.as_view(), name="api-bureau-export"),
    # -- scorecards
    path("models/", riskmodels.ModelVersionListApi.as_view(), name="api-models"),
    path("models/<int:version_id>/", riskmodels.ModelVersionDetailApi.as_view(), name="api-model"),
    path("models/<int:version_id>/promote/", riskmodels.ModelVersionPromoteApi.as_view(), name="api-model-promote"),
    path("models/<int:version_id>/retire/", riskmodels.ModelVersionRetireApi.as_view(), name="api-model-retire"),
    path("limit-policies/", riskmodels.LimitPolicyListCreateApi.as_view(), name="api-limit-policies"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^", NotFoundApi.as_view()),
]
