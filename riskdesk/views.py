"""The web desk's project-level pages: home and operations (the nightly chain lives here)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from riskdesk import nightly, tasks
from riskdesk.core import roles
from riskdesk.core.access import role_required
from riskdesk.core.errors import DomainError
from riskdesk.core.jobs import last_closed_day
from riskdesk.core.models import JobRun
from riskdesk.lending.web_selectors import recent_job_runs


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to where its work starts."""
    if roles.has_role(request.user, roles.ADMIN):
        return redirect("operations")
    if roles.has_role(request.user, roles.SUPERVISOR):
        return redirect("collections_team")
    if roles.has_role(request.user, roles.COLLECTOR, roles.AGENCY):
        return redirect("collections_queue")
    if roles.has_role(request.user, roles.RISK_OFFICER):
        return redirect("dashboard_portfolio")
    return redirect("loan_search")


@role_required(roles.ADMIN, roles.RISK_OFFICER)
def operations(request: HttpRequest) -> HttpResponse:
    """The nights' job runs; while one runs, static/js/operations.js follows it through the job-runs API."""
    job_days = recent_job_runs(days=14)
    any_running = any(run.status == JobRun.Status.RUNNING for _, runs in job_days for run in runs)
    return render(
        request,
        "operations.html",
        {"job_days": job_days, "last_closed_day": last_closed_day(), "any_running": any_running},
    )


@require_POST
@role_required(roles.ADMIN)
def close_day(request: HttpRequest) -> HttpResponse:
    """Close every open business day up to yesterday: in-process where Celery is eager, else on a worker."""
    try:
        enqueued, closed = tasks.close_day_ask(nightly.closable(None))
    except DomainError as error:  # the day is not over, or a step failed in-process (close_day_failure)
        messages.error(request, error.message)
        return redirect("operations")
    if closed is None:
        if enqueued.queued:
            messages.info(request, _("Close of day is queued for a worker; its job runs appear below."))
        else:
            messages.warning(
                request, _("The task queue is unreachable: close of day is kept and sent when it is back.")
            )
        return redirect("operations")
    if closed:
        days = ", ".join(day.isoformat() for day in closed)
        messages.success(
            request,
            ngettext("Closed %(count)d day: %(days)s.", "Closed %(count)d days: %(days)s.", len(closed))
            % {"count": len(closed), "days": days},
        )
    else:
        messages.info(request, _("Every business day up to yesterday is already closed."))
    return redirect("operations")
