"""The web desk's pages."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from riskdesk import views
from riskdesk.collections import views as collections_views
from riskdesk.dashboards.views import activity as activity_views
from riskdesk.dashboards.views import book as book_views
from riskdesk.lending import views as lending_views
from riskdesk.riskmodels import views as riskmodels_views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("loans/", lending_views.loan_search, name="loan_search"),
    path("loans/<int:loan_id>/", lending_views.loan_detail, name="loan_detail"),
    path("loans/<int:loan_id>/reveal/", lending_views.pii_reveal, name="loan_reveal"),
    path("operations/", views.operations, name="operations"),
    # dashboards
    path("dashboards/portfolio/", book_views.portfolio, name="dashboard_portfolio"),
    path("dashboards/roll-rates/", book_views.roll_rates, name="dashboard_roll_rates"),
    path("dashboards/vintages/", book_views.vintages, name="dashboard_vintages"),
    path("dashboards/expected-loss/", book_views.expected_loss, name="dashboard_expected_loss"),
    path("dashboards/collections/", activity_views.collections, name="dashboard_collections"),
    path("dashboards/compliance/", activity_views.compliance, name="dashboard_compliance"),
    path("grace-policies/preview/", lending_views.grace_preview, name="grace_preview"),
    path("operations/close-day/", views.close_day, name="close_day"),
    # scorecards
    path("models/", riskmodels_views.model_list, name="model_list"),
    path("models/<int:version_id>/", riskmodels_views.model_detail, name="model_detail"),
    path("models/<int:version_id>/promote/", riskmodels_views.model_promote, name="model_promote"),
    path("models/<int:version_id>/retire/", riskmodels_views.model_retire, name="model_retire"),
    path("assets/plotly-<str:version>.min.js", riskmodels_views.plotly_js, name="plotly_js"),
    # collections
    path("collections/queue/", collections_views.queue, name="collections_queue"),
    path("collections/next/", collections_views.case_next, name="collections_next"),
    path("collections/cases/<int:case_id>/", collections_views.case_detail, name="collections_case"),
    path("collections/cases/<int:case_id>/reveal/", collections_views.pii_reveal, name="collections_reveal"),
    path(
        "collections/cases/<int:case_id>/attempts/<int:attempt_id>/",
        collections_views.attempt_row,
        name="collections_attempt_row",
    ),
    path("collections/cases/<int:case_id>/promises/", collections_views.promise_create, name="collections_promise"),
    path(
        "collections/cases/<int:case_id>/arrangements/",
        collections_views.arrangement_request,
        name="collections_arrangement",
    ),
    path(
        "collections/cases/<int:case_id>/write-off-review/",
        collections_views.write_off_review_decide,
        name="collections_write_off_review",
    ),
    path("collections/team/", collections_views.team, name="collections_team"),
    path("collections/team/reassign/", collections_views.team_reassign, name="collections_reassign"),
    path("collections/team/collectors/<int:user_id>/cap/", collections_views.collector_cap, name="collections_cap"),
    path(
        "collections/arrangements/<int:arrangement_id>/decide/",
        collections_views.arrangement_decide,
        name="collections_arrangement_decide",
    ),
    path(
        "collections/field-visits/<int:visit_id>/decide/",
        collections_views.field_visit_decide,
        name="collections_field_visit_decide",
    ),
]
