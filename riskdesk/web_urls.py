"""The web desk's pages."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from riskdesk import views
from riskdesk.lending import views as lending_views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("loans/", lending_views.loan_search, name="loan_search"),
    path("loans/<int:loan_id>/", lending_views.loan_detail, name="loan_detail"),
    path("operations/", views.operations, name="operations"),
    path("operations/close-day/", views.close_day, name="close_day"),
]
