"""The whole journey of a study admin in a real browser (Debian's Chromium through Playwright), pages only: from an
empty database a staff user creates a study, uploads a batch zip, invites a reader, opens the study (confirming),
the reader votes through the reading page, the admin closes it (declining first, then confirming), opens the
results and downloads every export. Every study page is screenshot at 1280 and 820 px and must not overflow
horizontally at either width."""
from __future__ import annotations

import re

import pytest

from readerstudy.reading.models import Vote
from readerstudy.studies.models import AuditEntry, Study
from tests.browser.conftest import SCREENSHOTS
from tests.factories import ensure_findings_and_sources, make_batch_zip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 820)
SHOTS = SCREENSHOTS / "journey"


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def confirm_step(page, verb: str) -> str:
    """Click the status button ``verb`` on the study home; return the confirmation step's text."""
    page.click(f"#status button:has-text('{verb}')")
    page.wait_for_selector("#confirm-status")
    return page.inner_text(".confirm")


def overflowing(page) -> int:
    """How many CSS px the page is wider than the window (0: none)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def shoot_here(page, name: str) -> dict[str, int]:
    """The current page at both widths: screenshots, and the overflow at each."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    overflow = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow[f"{name}@{width}"] = overflowing(page)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    return overflow


def shoot_every_study_page(page, base: str, slug: str, label: str) -> dict[str, int]:
    """Each study page at both widths: screenshot it and measure any horizontal overflow."""
    study = Study.objects.get(slug=slug)
    batch, case = study.batches.get(), study.cases.order_by("pk").first()
    paths = {"overview": "", "batches": "batches/", "batch": f"batches/{batch.pk}/",
             "batch-audit": f"batches/{batch.pk}/audit/", "cases": "cases/", "case": f"cases/{case.public_id}/",
             "readers": "readers/", "protocol": "protocol/", "sequences": "sequences/", "preview": "preview/?done=1",
             "generate": "generate/", "analysis-plan": "results/plan/", "results": "results/", "audit": "audit/"}
    overflow = {}
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in paths.items():
            page.goto(f"{base}/studies/{slug}/{path}")
            page.wait_for_load_state("networkidle")
            assert page.locator("nav.study-nav").count() == 1, name  # the one shared navigation
            overflow[f"{name}@{width}"] = overflowing(page)
            page.screenshot(path=str(SHOTS / f"{label}-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    return overflow


def test_a_study_admin_runs_a_whole_study_in_the_browser(page, live_server, django_user_model, tmp_path):
    ensure_findings_and_sources()  # the seeded findings and sources; no study, no case, no reader
    django_user_model.objects.create_user("alice", password="alice-pass-123", is_staff=True)
    base = live_server.url
    archive = tmp_path / "first-batch.zip"
    archive.write_bytes(make_batch_zip([("Atelectasis", "Real"), ("Atelectasis", "Pix2Pix"), ("Effusion", "Real"),
                                        ("Effusion", "StarGAN"), ("Pneumothorax", "Pix2Pix-N")], size=256))

    # 1. Create the study from the home page.
    log_in(page, base, "alice", "alice-pass-123")
    page.goto(base + "/")
    page.click("#new-study-link")
    page.fill("#id_name", "Realism of generated chest X-rays")
    overflow = shoot_here(page, "new-study")
    page.click("#create-study")
    page.wait_for_url("**/studies/realism-of-generated-chest-x-rays/")
    slug = "realism-of-generated-chest-x-rays"
    assert "Upload a batch zip" in page.inner_text("#next-action")
    overflow |= shoot_here(page, "draft-overview")

    # 2. Upload the zip through the page the next action points to.
    page.click("#next-action")
    page.set_input_files("#archive-input", str(archive))
    page.click("#upload-button")
    page.wait_for_selector("#upload-status[data-finished]", timeout=90_000)  # the import, on a loaded machine
    assert "5 cases created" in page.inner_text("#upload-status"), page.inner_text("main")

    # 3. Invite a reader: an invitation link from the readers page, used in another browser context.
    page.click("nav.study-nav >> text=Readers")
    page.fill("input[name=note]", "Dr Reader")
    page.click("button:has-text('Create link')")
    link = re.search(r"https?://\S+/invite/[\w-]+/", page.inner_text(".messages")).group(0)
    reader = page.context.browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    reader.goto(link)
    reader.fill("#id_username", "reader1")
    reader.fill("#id_password1", "a-long-reader-pass-9")
    reader.fill("#id_password2", "a-long-reader-pass-9")
    reader.click("button:has-text('Create account and join')")
    reader.wait_for_url(base + "/")

    # 4. Open the study: the page asks first and says what freezes.
    page.goto(f"{base}/studies/{slug}/")
    asked = confirm_step(page, "Open")
    assert "cannot be undone" in asked and "frozen" in asked
    overflow |= shoot_here(page, "confirm-open")
    page.click("#confirm-status")
    page.wait_for_selector("#study-status:has-text('Open')")
    overflow |= shoot_here(page, "open-overview")

    # 5. The reader votes through the reading page.
    reader.goto(base + "/")
    reader.click("a:has-text('Start reading')")
    reader.wait_for_url(f"**/studies/{slug}/read/")
    for index in range(5):
        reader.wait_for_selector("#reader[data-ready='1']")
        reader.click("button.answer.real" if index % 2 else "button.answer.fake")
    reader.wait_for_url(f"**/studies/{slug}/finished/")
    assert Vote.objects.filter(membership__user__username="reader1").count() == 5

    # 6. Close: declining leaves it open; confirming closes it, finally.
    page.goto(f"{base}/studies/{slug}/")
    asked = confirm_step(page, "Close")
    assert "final" in asked and "Readers who open the study see that it is closed" in asked
    overflow |= shoot_here(page, "confirm-close")
    page.click("#cancel-status")
    page.wait_for_selector("#study-status:has-text('Open')")
    assert Study.objects.get(slug=slug).status == "open"
    confirm_step(page, "Close")
    page.click("#confirm-status")
    page.wait_for_selector("#study-status:has-text('Closed')")
    assert page.locator("#status button").count() == 0  # nothing left to change
    assert list(AuditEntry.objects.filter(study__slug=slug, action="status").order_by("pk")
                .values_list("old_value", "new_value")) == [("draft", "open"), ("open", "closed")]

    # 7. Results, and every export downloads.
    page.click("nav.study-nav >> text=Results")
    page.wait_for_load_state("networkidle")
    exports = sorted(set(page.eval_on_selector_all(
        "main a[href*='/api/studies/'], main a[download]", "links => links.map(a => a.href)")))
    assert len(exports) >= 4, exports
    for url in exports:
        response = page.request.get(url)
        assert response.status == 200 and len(response.body()) > 0, url

    # 8. Every study page at both widths: screenshots, and no horizontal overflow.
    overflow |= shoot_every_study_page(page, base, slug, "closed")
    page.goto(base + "/")
    overflow |= shoot_here(page, "home")
    assert {name: px for name, px in overflow.items() if px > 0} == {}
    reader.context.close()
