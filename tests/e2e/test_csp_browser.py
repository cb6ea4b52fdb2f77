"""The content security policy in a real browser: every kind of page of the desk works under it.

Headless Chromium (Debian's /usr/bin/chromium, as tests/e2e/test_dashboards_browser.py drives
it) against a live server on the dashboards' seeded book with a champion scorecard. An admin
opens home, the loan search and a loan, a dashboard and the model page (charts drawn), a
collections case, operations, an admin changelist and the API docs; the browser reports no
CSP violation (no `securitypolicyviolation` event, no console line) and nothing else failed.
Screenshots go to $CSP_SHOTS_DIR (default /tmp/shots_websec/).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from riskdesk.collections.models import Case
from riskdesk.lending.models import Loan
from tests.dashboards.conftest import seeded_book_build
from tests.e2e.test_dashboards_browser import Desk, browser  # noqa: F401 - the fixture
from tests.riskmodels.test_scoring_step import scorecard_version

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("CSP_SHOTS_DIR", "/tmp/shots_websec"))
# Recorded by every page before its own scripts run (an init script), read back after load.
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def visit(desk: Desk, path: str, name: str) -> dict[str, Any]:
    response = desk.open(path)
    total, drawn = desk.charts_drawn()
    desk.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    return {
        "status": response.status,
        "policy": "default-src 'self'" in (response.headers.get("content-security-policy") or ""),
        "violations": desk.page.evaluate("window.__csp"),
        "charts": (total, drawn),
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_kind_of_page_works_under_the_content_security_policy(
    browser: Any,  # noqa: F811 - the fixture
    live_server: Any,
    users: dict[str, User],
) -> None:
    model = scorecard_version(version=1, status="champion")
    seeded_book_build()
    loan = Loan.objects.order_by("id").first()
    case = Case.objects.order_by("id").first()
    assert loan is not None and case is not None
    SHOTS.mkdir(parents=True, exist_ok=True)
    desk = Desk(browser, live_server.url, "admin")
    desk.context.add_init_script(WATCH_VIOLATIONS)
    pages = {
        "home": "/",
        "loan-search": "/loans/?q=",
        "loan-detail": f"/loans/{loan.pk}/",
        "dashboard-portfolio": "/dashboards/portfolio/",
        "dashboard-roll-rates": "/dashboards/roll-rates/",
        "model-detail": f"/models/{model.pk}/",
        "collections-case": f"/collections/cases/{case.pk}/",
        "collections-team": "/collections/team/",
        "operations": "/operations/",
        "admin-changelist": "/admin/lending/loan/",
        "admin-lockouts": "/admin/axes/accessattempt/",
        "api-docs": "/api/v1/docs/",
    }

    seen = {name: visit(desk, path, name) for name, path in pages.items()}

    for name, page in seen.items():
        assert (page["status"], page["policy"], page["violations"]) == (200, True, []), name
    for name in ("dashboard-portfolio", "dashboard-roll-rates", "model-detail"):
        total, drawn = seen[name]["charts"]
        assert total >= 1 and drawn == total, name
    # Swagger UI drew the operations from the schema.
    desk.open("/api/v1/docs/")
    desk.page.wait_for_selector(".opblock", timeout=15_000)
    assert desk.page.evaluate("window.__csp") == []
    # A refused inline script would also have been reported on the console.
    assert desk.errors == []
    desk.context.close()
