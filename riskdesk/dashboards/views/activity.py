"""The desk's activity pages: collections and compliance (to be built)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def collections(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def compliance(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
