"""What every dashboard page does with a request: filters, CSV export, charts, render.

A page is its name, its template, a selector (filters -> context, with the page's
exportable tables under "tables") and its charts (context -> figures). `page_render`
validates the filter bar (bad input: 400 with the field and reason in the bar, nothing
read), answers `?export=<table>` with that table as CSV without drawing a chart, and
otherwise renders the template inside `dashboards/_layout.html`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly
import plotly.graph_objects as go
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _

from riskdesk.dashboards.export import csv_response
from riskdesk.dashboards.filters import DashboardFilterForm, DashboardFilters
from riskdesk.riskmodels.figures import figure_html

Context = dict[str, Any]


class FilterError(Exception):
    """A page-specific parameter (beyond the filter bar's) is invalid: 400 naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Page:
    """A dashboard page.

    `select(filters, query)` reads the aggregates and returns the template context; its
    "tables" entry maps an export name to the DataFrame downloaded as CSV, and its optional
    "page_params" the page's own parameters to keep in export links. `query` is the
    request's GET, for the page's own parameters (raise FilterError when one is bad).
    `charts(context)` turns the context's frames into figures, drawn only for HTML.
    """

    name: str
    template: str
    select: Callable[[DashboardFilters, QueryDict], Context]
    charts: Callable[[Context], Mapping[str, go.Figure]]


def page_render(request: HttpRequest, page: Page) -> HttpResponse:
    form = DashboardFilterForm(request.GET)
    if not form.is_valid():
        return _invalid(request, page, form)
    filters = form.filters()
    try:
        context = page.select(filters, request.GET)
    except FilterError as error:
        form.add_error(None, f"{error.field}: {error.message}")
        return _invalid(request, page, form)
    tables: Mapping[str, pd.DataFrame] = context.get("tables", {})
    export = request.GET.get("export")
    if export is not None:
        if export not in tables:
            form.add_error(None, _("export: no table named “%(name)s” on this page.") % {"name": export})
            return _invalid(request, page, form)
        return csv_response(tables[export], page=page.name, table=export, filters=filters)
    charts = {name: figure_html(fig, f"chart-{name}") for name, fig in page.charts(context).items()}
    frame = _frame(page, form, filters, context.get("page_params", {}))
    return render(request, page.template, {**context, **frame, "charts": charts})


def _frame(
    page: Page,
    form: DashboardFilterForm,
    filters: DashboardFilters | None,
    page_params: Mapping[str, str] | None = None,
) -> Context:
    """What _layout.html needs: the filter bar and the query strings.

    `tab_query` keeps the filters across tabs; `query` adds the page's own parameters
    (the context's "page_params", e.g. the roll-rate month shown) for its exports.
    """
    return {
        "page_name": page.name,
        "filter_form": form,
        "filters": filters,
        "tab_query": filters.query_string() if filters else "",
        "query": filters.query_string(**(page_params or {})) if filters else "",
        "plotly_version": plotly.__version__,
    }


def _invalid(request: HttpRequest, page: Page, form: DashboardFilterForm) -> HttpResponse:
    return render(request, page.template, _frame(page, form, None), status=400)
