"""Playwright fixtures: Debian's Chromium (never a downloaded browser), artifacts folder."""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, skip_unless_service

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to
# run inside one unless told it is safe (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str | None:
    path = os.environ.get("PASSLINE_CHROMIUM", "/usr/bin/chromium")
    return path if Path(path).is_file() or shutil.which(path) else None


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("PASSLINE_TEST_ARTIFACTS") or REPO_ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    skip_unless_service(executable is not None, "Chromium not found (set PASSLINE_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev extra not installed
        skip_unless_service(False, "playwright is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_errors():
    """Collect console errors and uncaught page errors of every page opened with it."""
    return []


@pytest.fixture
def new_page(browser, page_errors):
    """Open pages at a given viewport; console errors go to `page_errors`."""
    contexts = []

    def open_page(width: int = 1280, height: int = 800):
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda msg: page_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        return page

    yield open_page
    for context in contexts:
        context.close()
