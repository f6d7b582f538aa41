"""Batch upload in a real browser (Debian's Chromium through Playwright): a study admin logs in, uploads a zip through
the file input, watches the upload and the import finish, and sees the study's composition table update."""
import pytest

from readerstudy.batches.models import Batch
from tests.browser.conftest import SCREENSHOTS
from tests.factories import make_batch_zip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_uploads_a_batch_and_sees_the_composition(page, live_server, study_factory, staff_user, tmp_path):
    from playwright.sync_api import expect

    study = study_factory("paper", name="Chest X-ray reader study")
    archive = tmp_path / "generated-batch.zip"
    archive.write_bytes(make_batch_zip([("Atelectasis", "Real"), ("Atelectasis", "Pix2Pix"), ("Effusion", "Real"),
                                        ("Effusion", "StarGAN"), ("Pneumothorax", "Pix2Pix-N")], size=256))

    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin-pass-123")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/studies/{study.slug}/batches/")
    assert page.inner_text("#composition-total").strip() == "0"

    page.set_input_files("#archive-input", str(archive))
    assert "generated-batch.zip" in page.inner_text("#chosen-file")
    page.click("#upload-button")
    page.wait_for_selector("#upload-status[data-finished='done']")
    assert "5 cases created" in page.inner_text("#upload-status")
    assert page.get_attribute("#upload-progress", "value") == "100"
    expect(page.locator("#composition-total")).to_have_text("5")
    assert page.inner_text("#composition td[data-finding='pneumothorax'][data-source='pix2pix-n']") == "1"
    assert "Done" in page.inner_text("#batches")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "batch-upload.png"), full_page=True)

    batch = Batch.objects.get()
    assert (batch.status, batch.cases_created, batch.uploaded_by.username) == ("done", 5, "admin")
    page.click(f"#batches a[href$='/batches/{batch.pk}/']")
    page.wait_for_selector("#batch-status[data-status='done']")
    assert page.inner_text("#batch-cases") == "5"
