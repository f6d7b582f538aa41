"""The protocol on the reading page in Chromium: a timed image is masked after its exposure and the answer given
afterwards is still recorded; practice comes first with feedback when the study gives it; a Fake answer can carry
the cues that gave the image away."""
import pytest

from readerstudy.demo.images import chest_png
from readerstudy.reading import lifecycle, services
from readerstudy.reading.models import FakeReason, PracticeVote, Vote
from readerstudy.studies.models import Finding, Source
from readerstudy.studies.services import case_create_from_png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EXPOSURE_MS = 1500


def make_study(study_factory, reader_factory, staff_user, **settings):
    study = study_factory("paper", status="draft", name="Protocol study")
    findings, sources = list(Finding.objects.all()), list(Source.objects.all())
    for index in range(4):
        case_create_from_png(study=study, finding=findings[index], source=sources[index],
                             png_bytes=chest_png(findings[index].slug, sources[index].slug, index))
    if settings.pop("practice", False):
        for index, slug in enumerate(("real", "stargan")):
            services.practice_image_add(study, staff_user, png_bytes=chest_png("effusion", slug, 100 + index),
                                        source=Source.objects.get(slug=slug))
    services.settings_update(study, staff_user, settings)
    lifecycle.study_transition(study, staff_user, "open")
    return study, reader_factory(study, username="reader", password="reader-pass-123")


def log_in(page, live_server):
    page.goto(live_server.url + "/accounts/login/?next=/studies/paper/read/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", "reader-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url("**/studies/paper/read/")


def test_a_timed_image_is_masked_after_its_exposure_and_the_answer_is_still_recorded(
        page, live_server, study_factory, reader_factory, staff_user):
    _, membership = make_study(study_factory, reader_factory, staff_user, exposure_mode="fixed",
                               exposure_ms=EXPOSURE_MS)
    log_in(page, live_server)
    page.wait_for_selector("#reader[data-ready='1']")
    case = page.get_attribute("#reader", "data-case")
    assert page.get_attribute("#reader", "data-exposure-ms") == str(EXPOSURE_MS)
    page.wait_for_selector("#reader[data-masked='1']")
    assert page.is_hidden("#case-image") and page.get_attribute("#case-image", "src") is None
    assert page.is_visible("#mask") and page.is_enabled("button.answer.fake")
    page.keyboard.press("f")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{case}'])")
    assert page.is_visible("#case-image") and page.is_hidden("#mask")  # the next image starts unmasked
    vote = Vote.objects.get(membership=membership, case__public_id=case)
    assert (vote.answer, vote.exposure_ms) == ("fake", EXPOSURE_MS)
    assert vote.time_ms >= EXPOSURE_MS


def test_practice_comes_first_with_feedback_then_a_fake_answer_carries_its_cues(
        page, live_server, study_factory, reader_factory, staff_user):
    study, membership = make_study(study_factory, reader_factory, staff_user, practice=True, practice_count=2,
                                   practice_feedback=True, ask_fake_reasons=True)
    log_in(page, live_server)
    for _ in range(2):
        page.wait_for_selector("#reader[data-ready='1'][data-practice='1']")
        assert page.is_visible("#practice-banner")
        page.keyboard.press("r")
        page.wait_for_selector("#feedback:not([hidden])")
        assert "This practice image was" in page.inner_text("#feedback-text")
        page.keyboard.press("n")
    page.wait_for_selector("#reader[data-ready='1'][data-practice='0']")
    assert page.is_hidden("#practice-banner")
    assert PracticeVote.objects.filter(membership=membership).count() == 2
    case = page.get_attribute("#reader", "data-case")
    page.keyboard.press("f")
    page.wait_for_selector("#reasons:not([hidden])")
    page.check("#reasons label:has-text('Borders') input")
    page.fill("#reason-note", "soft rib edges")
    page.click("#reasons-done")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{case}'])")
    reason = FakeReason.objects.get(vote__case__public_id=case)
    assert (reason.cues, reason.note) == (["Borders"], "soft rib edges")
    assert not Vote.objects.filter(membership=membership).exclude(case__study=study).exists()


def test_reloading_after_the_exposure_shows_the_mask_and_takes_the_answer(
        page, live_server, study_factory, reader_factory, staff_user, settings):
    """An image is shown once (issue 29): reloading the page after its exposure and grace does not show it again;
    the mask is up at once and the answer is recorded."""
    settings.IMAGE_GRACE_MS = 200
    _, membership = make_study(study_factory, reader_factory, staff_user, exposure_mode="fixed", exposure_ms=300)
    log_in(page, live_server)
    page.wait_for_selector("#reader[data-masked='1']")
    case = page.get_attribute("#reader", "data-case")
    page.wait_for_timeout(800)  # exposure and grace are over
    page.reload()
    page.wait_for_selector(f"#reader[data-ready='1'][data-case='{case}'][data-masked='1']")
    assert page.is_hidden("#case-image") and page.is_visible("#mask") and page.is_enabled("button.answer.real")
    page.keyboard.press("r")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{case}'])")
    assert Vote.objects.get(membership=membership, case__public_id=case).answer == "real"
