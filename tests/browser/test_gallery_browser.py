"""The admin's case gallery, case view and preview as a reader in Chromium, at a desktop width (1280 px) and a tablet's
(768 x 1024): nothing overflows, the box is drawn on demand, an exclusion shows up, the preview records no vote, and
the reading page shows the 224 px image at a whole-number zoom with crisp pixels. Screenshots: var/screenshots."""
from __future__ import annotations

import pytest

from readerstudy.batches.models import Batch
from readerstudy.demo.images import chest_png
from readerstudy.reading.models import Vote
from readerstudy.studies.models import Case, Finding, Source
from readerstudy.studies.services import case_create_from_png
from tests.browser.conftest import SCREENSHOTS, log_in, overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1280, "height": 860}, "tablet": {"width": 768, "height": 1024}}
STUDY_PX = 224


@pytest.fixture
def study(study_factory, staff_user):
    """A draft study of demo chest images: 3 per cell of 2 findings x 4 sources; one Pix2Pix case with its box and
    its batch's audit record."""
    study = study_factory("paper", status="draft", name="Chest X-ray reader study")
    findings = list(Finding.objects.filter(slug__in=["effusion", "pneumonia"]))
    batch = Batch.objects.create(study=study, zip_sha256="e" * 64, status=Batch.Status.DONE, original_name="set.zip",
                                 audit={"seed": 0, "checkpoints": {"pix2pix": {"sha256": "f" * 64, "step": 300}},
                                        "images": [{"filename": "boxed.png", "finding": "Effusion",
                                                    "source": "Pix2Pix", "ssim": 0.71, "psnr": 24.5,
                                                    "box_identical": True}]})
    index = 0
    for finding in findings:
        for source in Source.objects.all():
            for _ in range(3):
                index += 1
                case_create_from_png(study=study, finding=finding, source=source, batch=batch,
                                     png_bytes=chest_png(finding.slug, source.slug, index))
    boxed = Case.objects.filter(study=study, finding__slug="effusion", source__slug="pix2pix").first()
    boxed.provenance = {"original_filename": "boxed.png", "origin_image": "00000001_000.png",
                        "bbox": [300, 400, 250, 200], "bbox_224": [66.0, 88.0, 55.0, 44.0]}
    boxed.save()
    return study



def wait_until(page, expression: str, timeout_ms: int = 20_000) -> None:
    """Poll ``expression`` in the page until it is true (``wait_for_function`` would need eval, which the CSP
    forbids)."""
    waited = 0
    while not page.evaluate(expression):
        assert waited < timeout_ms, f"still false after {timeout_ms} ms: {expression}"
        page.wait_for_timeout(100)
        waited += 100


@pytest.mark.parametrize("device", WIDTHS)
def test_the_admin_browses_the_gallery_opens_a_case_draws_its_box_and_excludes_it(page, live_server, study, device):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, WIDTHS[device])
    page.goto(live_server.url + "/studies/paper/cases/")
    assert page.locator("#gallery-grid .thumbs img").count() == 24
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # the thumbnails are lazy: bring them in
    wait_until(page, """Array.from(document.querySelectorAll('#gallery-grid .thumbs img'))
        .every(img => img.complete && img.naturalWidth === 112)""")
    page.evaluate("window.scrollTo(0, 0)")
    assert overflow(page) == 0
    page.screenshot(path=str(SCREENSHOTS / f"gallery-{device}.png"), full_page=True)

    boxed = Case.objects.get(provenance__original_filename="boxed.png")
    page.click(f'a[href^="/studies/paper/cases/{boxed.public_id}/"]')
    page.wait_for_selector("#case-full")
    wait_until(page, "document.getElementById('case-full').naturalWidth === 224")
    assert not page.is_visible("#box-overlay")
    page.click("label[for=show-box]")
    assert page.is_visible("#box-overlay")
    image = page.locator("#case-full").bounding_box()
    rect = page.locator("#box-overlay rect").bounding_box()
    scale = image["width"] / STUDY_PX
    assert abs(rect["x"] - image["x"] - 66.0 * scale) <= 2 and abs(rect["width"] - 55.0 * scale) <= 2
    assert "0.71" in page.inner_text("#provenance-ssim") and "f" * 64 in page.inner_text("#provenance")
    assert overflow(page) == 0
    page.screenshot(path=str(SCREENSHOTS / f"case-view-{device}.png"), full_page=True)

    page.fill("#exclusion-reason-input", "box misplaced")
    page.click("#exclude-button")
    page.wait_for_selector("#case-excluded")
    boxed.refresh_from_db()
    assert (boxed.is_excluded, boxed.exclusion_reason) == (True, "box misplaced")
    page.goto(live_server.url + "/studies/paper/cases/?state=excluded")
    assert page.locator("#gallery-grid .thumbs li.excluded").count() == 1


def integer_zoom(page) -> tuple[float, str]:
    """The reading image's rendered width in CSS pixels and its image-rendering."""
    return page.evaluate("""(() => { const img = document.getElementById('case-image');
        return [img.getBoundingClientRect().width, getComputedStyle(img).imageRendering]; })()""")


@pytest.mark.parametrize("device", WIDTHS)
def test_the_preview_is_the_reading_page_at_a_whole_number_zoom_and_records_no_vote(page, live_server, study,
                                                                                     reader_factory, device):
    log_in(page, live_server, WIDTHS[device])
    page.goto(live_server.url + "/studies/paper/preview/")
    page.wait_for_selector("#reader[data-ready='1']")
    first = page.get_attribute("#reader", "data-case")
    width, rendering = integer_zoom(page)
    assert width >= 2 * STUDY_PX and width % STUDY_PX == 0 and rendering == "pixelated"
    assert overflow(page) == 0
    page.screenshot(path=str(SCREENSHOTS / f"preview-{device}.png"))
    page.click("button.answer.real")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{first}'])")
    second = page.get_attribute("#reader", "data-case")
    page.keyboard.press("f")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{second}'])")
    assert page.inner_text(".progress-text").split() == ["3", "of", "10"]
    assert Vote.objects.count() == 0

    study.status = "open"  # the same page as a reader of the study: the image gets the same room
    study.save()
    reader_factory(study, username="reader", password="reader-pass-123")
    page.click("button:has-text('Log out')")
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", "reader-pass-123")
    page.click("button[type=submit]")
    page.wait_for_selector("#reader[data-ready='1']")
    assert tuple(integer_zoom(page)) == (width, rendering)


@pytest.mark.parametrize("device", WIDTHS)
def test_a_reader_sees_the_study_image_at_a_whole_number_zoom_with_crisp_pixels(page, live_server, study,
                                                                                reader_factory, device):
    study.status = "open"
    study.save()
    reader_factory(study, username="reader", password="reader-pass-123")
    page.set_viewport_size(WIDTHS[device])
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", "reader-pass-123")
    page.click("button[type=submit]")
    page.wait_for_selector("#reader[data-ready='1']")
    width, rendering = integer_zoom(page)
    assert (width % STUDY_PX, rendering) == (0, "pixelated") and width >= 2 * STUDY_PX
    page.screenshot(path=str(SCREENSHOTS / f"reading-zoom-{device}.png"))


def paper_audit() -> dict:
    """A verification set's audit: 25 records per finding and generator, with SSIM/PSNR spread like the demo's."""
    records = []
    for f, finding in enumerate(["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia",
                                 "Pneumothorax"]):
        for s, source in enumerate(["StarGAN", "Pix2Pix", "Pix2Pix-N"]):
            for i in range(25):
                wobble = ((i * 7 + f * 3 + s) % 25) / 25
                records.append({"filename": f"{finding.lower()}_{source.lower()}_{i:03d}.png", "finding": finding,
                                "source": source, "ssim": round(0.45 + 0.1 * s + 0.2 * wobble, 4),
                                "psnr": round(18 + 3 * s + 6 * wobble, 2),
                                "box_identical": True if source != "StarGAN" else None})
    return {"seed": 0, "images": records}


@pytest.mark.parametrize("device", WIDTHS)
def test_the_batch_audit_reads_at_a_glance_without_overflowing(page, live_server, study, device):
    batch = Batch.objects.get(study=study)
    batch.audit = paper_audit()
    batch.save()
    log_in(page, live_server, WIDTHS[device])
    page.goto(live_server.url + f"/studies/paper/batches/{batch.pk}/")
    assert page.locator("#audit-quality tbody tr").count() == 6
    headers = [text.strip() for text in page.locator("#audit-quality thead th").all_text_contents()]
    assert headers == ["Finding", "StarGAN", "Pix2Pix", "Pix2Pix-N"]
    page.locator("#audit-figure").scroll_into_view_if_needed()
    wait_until(page, "document.getElementById('audit-figure').naturalWidth > 0")
    assert overflow(page) == 0
    table = page.locator("#audit-quality").bounding_box()
    assert table["x"] + table["width"] <= WIDTHS[device]["width"]
    page.screenshot(path=str(SCREENSHOTS / f"batch-audit-{device}.png"), full_page=True)


def test_the_zoom_the_case_page_names_is_the_zoom_readers_get(page, live_server, study, reader_factory):
    """``studies.display.reader_zoom`` (the case page's "3x (672 px) at 1280 x 800") against the reading page itself
    on wide windows of several sizes."""
    from readerstudy.studies.display import reader_zoom

    study.status = "open"
    study.save()
    reader_factory(study, username="reader", password="reader-pass-123")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", "reader-pass-123")
    page.click("button[type=submit]")
    page.wait_for_selector("#reader[data-ready='1']")
    for width, height in [(1280, 800), (1920, 1080), (1366, 768), (1440, 900), (1024, 768), (1280, 720),
                          (1280, 751), (1280, 752)]:  # the last two: either side of 3x, which pins the top bar
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(100)
        shown, _rendering = integer_zoom(page)
        assert shown == STUDY_PX * reader_zoom(width, height), (width, height)
