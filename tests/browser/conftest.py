"""Browser tests: the demo setup (the app, the Jira and QuickBooks emulators as real
servers on loopback ports, SQLite) driven through the Jira host page with Playwright on
Debian's chromium. One demo and one browser for the whole package; a fresh page per test.
Package scope, not session: Playwright's sync API keeps an event loop running on the main
thread while it is open, and the async tests collected after this package need it closed.

Screenshots of each page land in `test-artifacts/browser/` (git-ignored)."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo import Demo, DemoInBackground, DemoOptions
from app.settings import PROJECT_ROOT

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path(os.environ.get("W360_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
# Smaller than the demo's 2,000 worklogs: the same shapes, a quicker backfill.
TEST_WORKLOGS = 400

if not CHROMIUM.exists():
    # A missing browser fails the run (CI installs it, see .ci/run); leaving the browser
    # tests out takes a deliberate W360_TEST_BROWSER=skip, never happens by accident.
    message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("W360_TEST_BROWSER") != "skip":
        raise pytest.UsageError(message + ", or set W360_TEST_BROWSER=skip to leave these out.")
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="package")
def demo_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoInBackground]:
    options = DemoOptions(
        app_port=0,
        jira_port=0,
        qbo_port=0,
        data_dir=tmp_path_factory.mktemp("demo"),
        worklogs=TEST_WORKLOGS,
    )
    runner = DemoInBackground(options)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture(scope="package")
def demo(demo_runner: DemoInBackground) -> Demo:
    return demo_runner.demo


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: playwright_sync.Browser) -> Iterator[playwright_sync.Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    playwright_sync.expect.set_options(timeout=15_000)
    try:
        yield page
    finally:
        context.close()


def screenshot(page: playwright_sync.Page, name: str) -> Path:
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class ServedPdfs:
    """The answers of the app's invoice-PDF links, as the browser received them: the tab
    that opens one may show it or download it (headless Chromium has no PDF viewer), so the
    test reads what the server sent rather than the tab."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []

    def handle(self, route: playwright_sync.Route) -> None:
        response = route.fetch()
        self.answers.append((response.status, response.headers, response.body()))
        route.fulfill(response=response)

    def first(
        self, page: playwright_sync.Page, timeout_s: float = 15.0
    ) -> tuple[int, dict[str, str], bytes]:
        """The first answer, once the browser has it (Playwright runs the route handler
        while it waits, so this polls on the condition until a deadline)."""
        deadline = time.monotonic() + timeout_s
        while not self.answers:
            assert time.monotonic() < deadline, "the PDF link was never opened"
            page.wait_for_timeout(50)
        return self.answers[0]


def serve_pdfs(page: playwright_sync.Page) -> ServedPdfs:
    served = ServedPdfs()
    page.context.route(re.compile(r".*/quickbooks/invoice-pdf\?link=.*"), served.handle)
    return served


def pdf_text(body: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
