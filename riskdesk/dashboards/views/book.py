"""The book's pages: portfolio, roll rates, vintages and expected loss (to be built)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def portfolio(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def roll_rates(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def vintages(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def expected_loss(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
