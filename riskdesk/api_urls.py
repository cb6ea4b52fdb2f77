"""The HTTP API, v1 (DESIGN.md "HTTP API")."""

from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from riskdesk.api import CloseDayApi
from riskdesk.core.api import JobRunListApi, NotFoundApi, TokenObtainApi
from riskdesk.lending import api as lending

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("products/", lending.ProductListCreateApi.as_view(), name="api-products"),
    path("borrowers/", lending.BorrowerCreateApi.as_view(), name="api-borrowers"),
    path("borrowers/<int:borrower_id>/", lending.BorrowerDetailApi.as_view(), name="api-borrower"),
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
    path("incident-windows/", lending.IncidentWindowListCreateApi.as_view(), name="api-incident-windows"),
    path("operations/close-day/", CloseDayApi.as_view(), name="api-close-day"),
    path("operations/job-runs/", JobRunListApi.as_view(), name="api-job-runs"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^", NotFoundApi.as_view()),
]
