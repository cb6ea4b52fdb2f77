"""URL configuration: the web desk, the JSON API under /api/v1/, Django admin, and the health check."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from riskdesk.health import healthz

urlpatterns = [
    # No login, no trailing slash: the container's health check (exempt from the HTTPS redirect).
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("riskdesk.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("riskdesk.web_urls")),
]
