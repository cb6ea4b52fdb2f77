"""URL configuration: the web desk, the JSON API under /api/v1/, and Django admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("riskdesk.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("riskdesk.web_urls")),
]
