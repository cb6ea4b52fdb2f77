"""The desk's activity pages: collections and compliance.

Each is a `pages.Page`: a selector over the day aggregates (riskdesk.dashboards.activity)
and its charts (riskdesk.dashboards.activity_figures); `page_render` does filters, CSV
and render. Admins, risk officers and collections supervisors read them; a collector
does not (the per-collector table compares colleagues' work).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext_lazy as _

from riskdesk.core import roles
from riskdesk.core.access import role_required
from riskdesk.dashboards import activity, activity_figures
from riskdesk.dashboards.filters import DashboardFilters
from riskdesk.dashboards.pages import Context, Page, page_render

READERS = (roles.ADMIN, roles.RISK_OFFICER, roles.SUPERVISOR)
# Complaint categories in the desk's words; not in core.vocabulary, where "third_party"
# already names an attempt's outcome (a third party reached), not a complaint.
COMPLAINT_CATEGORIES = {
    "harassment": _("harassment or too many contacts"),
    "third_party": _("third party contacted or told"),
    "threats": _("threats or abusive language"),
    "wrong_amount": _("amount or fees disputed"),
    "quiet_hours": _("contacted at night"),
    "other": _("other"),
}


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The frame's rows for a template, a missing value (NaN: no rate) as None."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


# --- collections ---------------------------------------------------------------------------


def _collections_select(filters: DashboardFilters, query: QueryDict) -> Context:
    page = activity.collections(filters)
    return {
        "as_of": page.as_of,
        "headline": page.headline,
        "trend": page.trend,
        "stages": page.stages,
        "cure": page.cure,
        "cure_rows": records(page.cure),
        "collector_rows": records(page.collectors),
        "tables": {
            "daily": page.trend,
            "cases_by_stage": page.stages,
            "cure_rates": page.cure,
            "collectors": page.collectors,
        },
    }


def _collections_charts(context: Context) -> dict[str, go.Figure]:
    return {
        "work_rates": activity_figures.work_rates_figure(context["trend"]),
        "recovered": activity_figures.recovered_figure(context["trend"]),
        "stages": activity_figures.cases_by_stage_figure(context["stages"]),
        "cure": activity_figures.cure_rate_figure(context["cure"]),
    }


COLLECTIONS = Page("collections", "dashboards/collections.html", _collections_select, _collections_charts)


@role_required(*READERS)
def collections(request: HttpRequest) -> HttpResponse:
    return page_render(request, COLLECTIONS)


# --- compliance ----------------------------------------------------------------------------


def _compliance_select(filters: DashboardFilters, query: QueryDict) -> Context:
    page = activity.compliance(filters)
    quiet_hours = page.totals[activity.Measure.QUIET_HOURS_CONTACT]
    return {
        "totals": page.totals,
        "quiet_hours": quiet_hours,
        "quiet_hours_rows": records(page.quiet_hours_days),
        "days_counted": page.days_counted,
        "days_in_range": page.days_in_range,
        "blocked": page.blocked,
        "blocked_rows": records(page.blocked),
        "complaint_rows": [
            {**row, "category_label": COMPLAINT_CATEGORIES.get(row["category"], row["category"])}
            for row in records(page.complaints)
        ],
        "daily": page.daily,
        # Compliance facts are the desk's, not a loan segment's: the bar shows those fields disabled.
        "segments_disabled": True,
        "tables": {
            "blocked_by_rule": page.blocked,
            "complaints": page.complaints,
            "daily": page.daily,
            "quiet_hours_days": page.quiet_hours_days,
        },
    }


def _compliance_charts(context: Context) -> dict[str, go.Figure]:
    return {
        "blocked": activity_figures.blocked_by_rule_figure(context["blocked"]),
        "reminders": activity_figures.reminders_figure(context["daily"]),
        "complaints": activity_figures.complaints_and_ceases_figure(context["daily"]),
    }


COMPLIANCE = Page("compliance", "dashboards/compliance.html", _compliance_select, _compliance_charts)


@role_required(*READERS)
def compliance(request: HttpRequest) -> HttpResponse:
    return page_render(request, COMPLIANCE)
