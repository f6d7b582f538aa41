"""Browser tests: Debian's Chromium driven by Playwright's sync API against pytest-django's live server.

Each test file marks itself ``browser`` and ``django_db(transaction=True)``; no serialized_rollback (it clashes with
the content types post_migrate re-creates after another transactional test): the study factory re-seeds findings
and sources when a flush has removed them.
"""
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# Without the background-networking flags Chromium keeps dialling out, which this machine's closed network refuses.



def log_in(page, live_server, viewport) -> None:
    """The staff account ``admin`` (the factories' password) logs in at ``viewport`` and lands on the home page."""
    page.set_viewport_size(viewport)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")


def overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0 when nothing runs out of its box)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def page(chromium_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop here
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(20_000)
        yield context.new_page()
        context.close()
        browser.close()
        # While Playwright's event loop runs in this thread, Django's connections live in the loop's context, not the
        # thread's: the test's own queries opened a connection there that nothing else closes (it kept pytest-django
        # from dropping the test database at the end of the run).
        from django.db import connections

        connections.close_all()
