"""Browser tests through the Forge door: `worklog360 demo --forge` (the Forge app only, its
Custom UI inside the emulated Jira, served from the emulated Forge CDN on another origin
under Custom UI's content security policy), driven with Playwright like the Connect tests.
One demo for this package, torn down when it ends; the browser is the parent package's.

Every test fails on a content security policy violation in the app's frames: Forge serves the
pages with that policy, and what it blocks would silently not work there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, FrameLocator, Page, expect

from app.demo import Demo, DemoInBackground, DemoOptions
from tests.browser.conftest import TEST_WORKLOGS, screenshot

FRAME = "#forge-frame-0"
CSP_WATCH = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' +
    (e.sourceFile || '') + ':' + e.lineNumber + ' ' + (e.sample || ''));
});
"""


@pytest.fixture(scope="package")
def forge_demo_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoInBackground]:
    options = DemoOptions(
        app_port=0,
        jira_port=0,
        qbo_port=0,
        data_dir=tmp_path_factory.mktemp("forge-demo"),
        worklogs=TEST_WORKLOGS,
        forge=True,
    )
    runner = DemoInBackground(options)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture(scope="package")
def forge_demo(forge_demo_runner: DemoInBackground) -> Demo:
    return forge_demo_runner.demo


@pytest.fixture(autouse=True)
def no_csp_violations(page: Page) -> Iterator[list[str]]:
    violations: list[str] = []

    def record(message: ConsoleMessage) -> None:
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text:
            violations.append(text)

    page.add_init_script(CSP_WATCH)
    page.on("console", record)
    yield violations
    assert violations == [], "The pages broke Custom UI's content security policy"


def open_forge_page(page: Page, demo: Demo, route: str | None, **params: str) -> FrameLocator:
    """Jira's page of the global page at `route` (or the configure page, "configure")."""
    page.goto(demo.forge_page_url(route, **params))
    expect(page.locator(FRAME)).to_be_visible()
    return page.frame_locator(FRAME)


def shot(page: Page, name: str) -> None:
    """A screenshot named `forge-…`, from the top of Jira's page: a full-page capture of a
    scrolled page draws the cross-origin frame's top blank."""
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, f"forge-{name}")
