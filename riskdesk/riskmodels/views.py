"""The model pages: the registry, a model's page with its monitoring, and the admin's decisions.

Risk officers and admins read them; collectors and supervisors get 403 (a model's
internals are not a collector's tool: they see a loan's band and reasons on the loan
and case pages). Promotion and retirement are the admin's, each with a comment.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import plotly
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from riskdesk.core import roles
from riskdesk.core.access import role_required
from riskdesk.core.errors import DomainError
from riskdesk.riskmodels import figures, selectors, services
from riskdesk.riskmodels.forms import StatusChangeForm
from riskdesk.riskmodels.models import ModelVersion

READERS = (roles.ADMIN, roles.RISK_OFFICER)


@role_required(*READERS)
def model_list(request: HttpRequest) -> HttpResponse:
    """Every version with its validation and latest PSI; the champion and challengers side by side."""
    return render(
        request,
        "riskmodels/model_list.html",
        {"versions": selectors.version_summaries(), "comparison": selectors.champion_vs_challengers()},
    )


@role_required(*READERS)
def model_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=version_id)
    return render(request, "riskmodels/model_detail.html", model_page_context(version))


def model_page_context(version: ModelVersion, refused: StatusChangeForm | None = None) -> dict[str, object]:
    """The model page, with the decision form that was refused (its comment and errors) when there is one."""
    page = selectors.model_page(version)
    charts = {
        "score_distribution": figures.score_distribution_figure(page.score_distribution),
        "psi": figures.psi_figure(page.psi),
        "discrimination": figures.discrimination_figure(page.discrimination),
        "calibration": figures.calibration_figure(page.calibration),
    }
    return {
        "page": page,
        "charts": {name: figures.figure_html(fig, f"chart-{name}") for name, fig in charts.items()},
        "has_monitoring": not page.psi.empty,
        "has_discrimination": not page.discrimination.empty,
        # Training always leaves by-month rows; "matured" means a live month end's outcomes are in.
        "has_live_performance": bool((page.discrimination["source"] == "live").any()),
        "has_calibration": not page.calibration.empty,
        "promote_form": refused if refused and refused.prefix == "promote" else StatusChangeForm(prefix="promote"),
        "retire_form": refused if refused and refused.prefix == "retire" else StatusChangeForm(prefix="retire"),
        "plotly_version": plotly.__version__,
    }


@require_POST
@role_required(roles.ADMIN)
def model_promote(request: HttpRequest, version_id: int) -> HttpResponse:
    done = _("Scorecard v%(version)d is now the champion; tonight's close writes its bands onto loans.")
    return _status_change(request, version_id, services.model_version_promote, done, prefix="promote")


@require_POST
@role_required(roles.ADMIN)
def model_retire(request: HttpRequest, version_id: int) -> HttpResponse:
    done = _("Scorecard v%(version)d is retired: it no longer scores.")
    return _status_change(request, version_id, services.model_version_retire, done, prefix="retire")


def _status_change(
    request: HttpRequest, version_id: int, service: Callable[..., ModelVersion], done: str, *, prefix: str
) -> HttpResponse:
    """Apply a promotion or retirement from the model page; a refusal shows on the page."""
    version = get_object_or_404(ModelVersion, pk=version_id)
    form = StatusChangeForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            changed = service(model_version=version, comment=form.cleaned_data["comment"], actor=request.user)
        except DomainError as error:
            if error.field in form.fields:
                form.add_error(error.field, error.message)
            else:
                messages.error(request, error.message)
                return redirect("model_detail", version_id=version.pk)
        else:
            messages.success(request, done % {"version": changed.version})
            return redirect("model_detail", version_id=version.pk)
    version.refresh_from_db()
    context = model_page_context(version, form)
    return render(request, "riskmodels/model_detail.html", context, status=400)


# -- plotly.js --------------------------------------------------------------------------

# plotly.js ships inside the plotly wheel (DESIGN.md: no CDN, nothing copied into the
# repo). It is 4.6 MB, so pages load it from one URL rather than inline per page; the
# URL carries the package version, so browsers keep it for a year ("immutable") and a
# plotly upgrade changes the URL. Gzipped once per process (1.4 MB on the wire).
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
YEAR = 365 * 24 * 3600


@lru_cache(maxsize=1)
def _plotly_js() -> tuple[bytes, bytes]:
    body = PLOTLY_JS.read_bytes()
    return body, gzip.compress(body, compresslevel=6, mtime=0)


@require_GET
def plotly_js(request: HttpRequest, version: str) -> HttpResponse:
    """The plotly.js bundle of the installed plotly package, cacheable for a year."""
    if version != plotly.__version__:
        raise Http404
    body, zipped = _plotly_js()
    gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
    response = HttpResponse(zipped if gzip_ok else body, content_type="text/javascript; charset=utf-8")
    if gzip_ok:
        response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    return response
