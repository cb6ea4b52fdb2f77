"""The dashboards in a real browser: a risk officer's morning, end to end.

Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; never `playwright
install`) against a live server on the dashboards' seeded book (tests/dashboards/conftest.py,
built here committed, since the server's thread reads through its own connection). The
officer logs in, opens every dashboard page, changes a filter, sees every chart drawn with
no console error, and downloads a CSV.

Without /usr/bin/chromium the test skips, except with CI=true, where it fails (`make test`
installs Debian's chromium when it is missing and apt-get is there).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.models import User

from scripts.screenshots import CHROMIUM_ARGS  # launched as the screenshots are: no sandbox, nothing phoning home
from tests.dashboards.conftest import seeded_book_build

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
DASHBOARDS = [
    "/dashboards/portfolio/",
    "/dashboards/roll-rates/",
    "/dashboards/vintages/",
    "/dashboards/expected-loss/",
    "/dashboards/collections/",
    "/dashboards/compliance/",
]
# The tabs that are not dashboards of the aggregates, but belong to the strip.
OTHER_TABS = ["/models/", "/operations/"]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires Debian's chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the fixtures'
    # teardown makes here are still synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Desk:
    """A logged-in page that remembers every console error, uncaught exception and failed load."""

    def __init__(self, browser: Any, base: str, username: str) -> None:
        self.base = base
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en", accept_downloads=True)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("response", self._response)
        self.page.goto(f"{base}/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", f"pw-{username}")
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def _console(self, message: Any) -> None:
        # A failed load is reported with its URL by _response; the console's line has none.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        # The browser asks for /favicon.ico by itself; the desk has none.
        if response.status >= 400 and urlparse(response.url).path != "/favicon.ico":
            self.errors.append(f"{response.status} {response.url}")

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")  # plotly.js, then each figure's script
        return response

    def charts_drawn(self) -> tuple[int, int]:
        """(figures on the page, figures plotly drew an svg into)."""
        figures = self.page.locator(".plotly-figure")
        total = figures.count()
        if total:
            self.page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-figure')].every(f => f.querySelector('.main-svg'))",
                timeout=10_000,
            )
        drawn = self.page.locator(".plotly-figure .main-svg").evaluate_all(
            "svgs => new Set(svgs.map(s => s.closest('.plotly-figure').id)).size"
        )
        return total, drawn


# One journey, one seeded book: the live server's data must be committed, so each test
# would rebuild it (a transactional test flushes the database after itself, migrations'
# rows restored by serialized_rollback).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_risk_officer_reads_every_dashboard_in_chromium(
    browser: Any, live_server: Any, users: dict[str, User], tmp_path: Path
) -> None:
    seeded_book_build()
    desk = Desk(browser, live_server.url, "risk_officer")
    page = desk.page
    # The officer lands on the portfolio.
    assert urlparse(page.url).path == "/dashboards/portfolio/"

    # Every page answers, and plotly draws every chart on it.
    for path in DASHBOARDS:
        response = desk.open(path)
        assert response.status == 200, path
        total, drawn = desk.charts_drawn()
        assert total >= 1, f"{path}: no chart"
        assert drawn == total, f"{path}: {drawn} of {total} charts drawn"
    for path in OTHER_TABS:
        assert desk.open(path).status == 200, path
        total, drawn = desk.charts_drawn()
        assert drawn == total, path

    # A changed filter goes into the URL and the charts draw again.
    for path in DASHBOARDS:
        desk.open(path)
        page.fill(".filter-bar input[name=from]", "2026-10-01")
        with page.expect_navigation():
            page.click(".filter-bar button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert urlparse(page.url).path == path
        assert parse_qs(urlparse(page.url).query)["from"] == ["2026-10-01"], path
        assert page.locator(".filter-bar input[name=from]").input_value() == "2026-10-01"
        total, drawn = desk.charts_drawn()
        assert total >= 1 and drawn == total, path
    # A product on the portfolio: the URL carries it, and so do the tabs.
    desk.open("/dashboards/portfolio/")
    page.select_option(".filter-bar select[name=product]", "xiaodai")
    with page.expect_navigation():
        page.click(".filter-bar button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert parse_qs(urlparse(page.url).query)["product"] == ["xiaodai"]
    assert "product=xiaodai" in page.locator(".dash-tabs a", has_text="Roll rates").get_attribute("href")
    total, drawn = desk.charts_drawn()
    assert total >= 1 and drawn == total

    # A table downloads as CSV, with the filters.
    desk.open("/dashboards/portfolio/?product=jiebei")
    link = page.locator("a.csv-link").first
    assert "export=" in link.get_attribute("href")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.startswith("riskdesk-portfolio-")
    assert download.suggested_filename.endswith(".csv")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    header, first = rows[0], rows[1]
    assert "product" in header
    assert len(first) == len(header)
    assert first[header.index("product")] == "jiebei"

    assert desk.errors == []
    desk.context.close()
