"""Browser journeys: Playwright driving Debian's Chromium against a live test server."""

import importlib
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps

from tests.conftest import REQUIRE_SERVICES

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
# Journeys write their pictures to test-artifacts/; UPDATE_SCREENSHOTS=1 refreshes docs/.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS")
    else ROOT / "test-artifacts" / "screenshots"
)
PHONE = {"width": 390, "height": 844}

# Playwright's sync API runs an event loop in this thread; the live server's database
# work happens in its own thread, and the test's own queries are synchronous by design.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the journeys (browser, slow) and run them last.

    While Playwright's loop runs, Django gives this thread context-local connections that
    lack the test database's serialized copy, so no other test may run in between.
    """
    journeys = [item for item in items if "tests/e2e/" in str(item.fspath)]
    for item in journeys:
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.slow)
        items.remove(item)
    items.extend(journeys)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        reason = f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES is set but this test {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _no_csp_violations(request: pytest.FixtureRequest, monkeypatch) -> Iterator:
    """Fail a journey whose pages break the Content Security Policy: Chromium reports each
    refused script, style or image on the console of the context that opened it."""
    if "browser" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("browser")
    refused: list[str] = []
    new_context = browser.new_context

    def keep_refusals(message) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{message.location.get('url')}: {message.text}")

    def new_context_watching_csp(*args, **kwargs):
        context = new_context(*args, **kwargs)
        context.on("console", keep_refusals)
        return context

    monkeypatch.setattr(browser, "new_context", new_context_watching_csp)
    yield
    assert not refused, "Content Security Policy violations:\n" + "\n".join(refused)


@pytest.fixture
def phone(browser) -> Iterator:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    yield page
    context.close()


# Data migrations whose rows the journeys need (the sites, the reminder plan).
CATALOGUE_MIGRATIONS = [
    ("booking.migrations.0002_injection_sites", "create_sites"),
    ("followup.migrations.0002_default_reminder_plan_and_wording", "create_defaults"),
    ("followup.migrations.0005_default_follow_up_plan_and_wording", "create_defaults"),
]


@pytest.fixture
def catalogue(transactional_db) -> None:
    """Re-create what the data migrations made.

    Playwright's sync API keeps an event loop running in this thread, so Django hands the
    test a fresh connection object (asgiref's context-local storage) that lacks the
    serialized copy `serialized_rollback` restores from; an earlier transactional test's
    flush would otherwise leave the journeys without sites.
    """
    for module, function in CATALOGUE_MIGRATIONS:
        getattr(importlib.import_module(module), function)(django_apps, None)


def next_weekday_morning(at: time = time(9, 30)) -> datetime:
    """`at` (09:30 unless given) at the clinic on the next weekday: the demo clinicians
    work, most of the day is still ahead (a walk-in needs a free time left today), and the
    moment is in the future, so the browser keeps the cookies the server dates from it.
    A journey that travels there runs the same whatever day and hour the suite runs."""
    day = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=ZoneInfo("America/New_York"))


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# A failing journey keeps what each open page showed, for CI to keep as an artefact.
FAILURES = ROOT / "test-artifacts" / "e2e-failures"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator:
    """When a journey fails, save a screenshot and the HTML of every open page under
    test-artifacts/e2e-failures/<test name>/ and name them in the failure's report."""
    outcome = yield
    report = outcome.get_result()
    browser = getattr(item, "funcargs", {}).get("browser")
    if report.when != "call" or not report.failed or browser is None:
        return
    folder = FAILURES / "".join(c if c.isalnum() or c in "-_." else "_" for c in item.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pages = [page for context in browser.contexts for page in context.pages]
    lines = [
        line
        for number, page in enumerate(pages, start=1)
        for line in _save_page(page, folder / f"page-{number}")
    ]
    summary = "\n".join(lines or ["no open page"])
    report.sections.append(("e2e failure artefacts", f"Saved under {folder}:\n{summary}"))


def _save_page(page, stem: Path) -> list[str]:
    """The page's HTML and screenshot next to `stem`; a line for each saved (or not)."""
    lines = []
    for suffix in (".html", ".png"):
        path = stem.with_suffix(suffix)
        try:
            if suffix == ".html":
                path.write_text(page.content(), encoding="utf-8")
            else:
                page.screenshot(path=str(path), full_page=True, timeout=10_000)
            lines.append(f"{page.url}: {path}")
        except Exception as error:  # a crashed page must not hide the test's own failure
            lines.append(f"{page.url}: no {suffix} ({error})")
    return lines
