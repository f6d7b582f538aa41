"""Marking on the reading page in Chromium: after "fake" the reader clicks places (drawn, removable), by mouse and by
keyboard, each with a confidence, and they are stored with the vote in image pixels; S skips; a study without marks
shows no marking step; the admin's preview shows the step too."""
import pytest

from readerstudy.reading.models import Mark, Vote
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_protocol_reading import log_in, make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _image_point(page, x: float, y: float) -> tuple[float, float]:
    """Screen coordinates of image pixel (x, y) of the 224 px image as drawn."""
    box = page.locator("#case-image").bounding_box()
    return box["x"] + x / 224 * box["width"], box["y"] + y / 224 * box["height"]


def test_a_fake_answer_carries_the_places_clicked_and_placed_by_keyboard(page, live_server, study_factory,
                                                                         reader_factory, staff_user):
    study, membership = make_study(study_factory, reader_factory, staff_user, marks_mode="fake", max_marks=3)
    study.ask_confidence = True
    study.save(update_fields=["ask_confidence"])
    log_in(page, live_server)
    page.wait_for_selector("#reader[data-ready='1']")
    case = page.get_attribute("#reader", "data-case")
    page.keyboard.press("f")
    page.keyboard.press("4")
    page.wait_for_selector("#marking:not([hidden])")
    page.mouse.click(*_image_point(page, 50, 60))
    page.mouse.click(*_image_point(page, 180, 30))
    page.wait_for_selector("#reader[data-marks='2']")
    page.click(".mark[data-index='1']")  # clicking a mark removes it
    page.wait_for_selector("#reader[data-marks='1']")
    page.keyboard.press("ArrowRight")  # the cursor appears at the centre
    for _ in range(5):
        page.keyboard.press("ArrowDown")  # 4 image pixels a step
    page.keyboard.press("Enter")
    page.wait_for_selector("#reader[data-marks='2']")
    page.select_option("#mark-list li:nth-child(2) select", "2")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "marks-reading-1280.png"))
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{case}'])")
    vote = Vote.objects.get(membership=membership, case__public_id=case)
    marks = list(Mark.objects.filter(vote=vote).values_list("x", "y", "confidence"))
    assert (vote.answer, vote.confidence) == ("fake", 4)
    assert len(marks) == 2
    (x1, y1, c1), (x2, y2, c2) = marks
    assert abs(x1 - 50) < 1.5 and abs(y1 - 60) < 1.5 and c1 == 4
    assert (x2, y2, c2) == (112, 132, 2)


def test_s_skips_the_marking_and_a_real_answer_is_not_asked_for_marks(page, live_server, study_factory,
                                                                      reader_factory, staff_user):
    _, membership = make_study(study_factory, reader_factory, staff_user, marks_mode="fake")
    log_in(page, live_server)
    page.wait_for_selector("#reader[data-ready='1']")
    first = page.get_attribute("#reader", "data-case")
    page.keyboard.press("r")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{first}'])")
    second = page.get_attribute("#reader", "data-case")
    page.keyboard.press("f")
    page.wait_for_selector("#marking:not([hidden])")
    page.keyboard.press("s")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{second}'])")
    assert Vote.objects.filter(membership=membership).count() == 2 and Mark.objects.count() == 0


def test_a_study_without_marks_has_no_marking_step(page, live_server, study_factory, reader_factory, staff_user):
    _, membership = make_study(study_factory, reader_factory, staff_user)
    log_in(page, live_server)
    page.wait_for_selector("#reader[data-ready='1']")
    assert page.locator("#marking, #marks-layer").count() == 0
    case = page.get_attribute("#reader", "data-case")
    page.keyboard.press("f")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{case}'])")
    assert Vote.objects.get(membership=membership, case__public_id=case).answer == "fake"


def test_the_preview_as_a_reader_shows_the_marking_step(page, live_server, study_factory, reader_factory, staff_user):
    study, _ = make_study(study_factory, reader_factory, staff_user, marks_mode="fake")
    page.goto(live_server.url + f"/accounts/login/?next=/studies/{study.slug}/preview/")
    page.fill("#id_username", staff_user.username)
    page.fill("#id_password", "admin-pass-123")
    page.click("button[type=submit]")
    page.wait_for_selector("#reader[data-ready='1']")
    case = page.get_attribute("#reader", "data-case")
    page.keyboard.press("f")
    page.wait_for_selector("#marking:not([hidden])")
    page.mouse.click(*_image_point(page, 100, 100))
    page.wait_for_selector("#reader[data-marks='1']")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{case}'])")
    assert Mark.objects.count() == 0 and Vote.objects.count() == 0


def test_a_tap_on_a_touch_screen_places_a_mark(chromium_path, live_server, study_factory, reader_factory, staff_user,
                                              monkeypatch):
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    _, membership = make_study(study_factory, reader_factory, staff_user, marks_mode="fake")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True, is_mobile=True)
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            log_in(page, live_server)
            page.wait_for_selector("#reader[data-ready='1']")
            case = page.get_attribute("#reader", "data-case")
            page.tap("button.answer.fake")
            page.wait_for_selector("#marking:not([hidden])")
            page.touchscreen.tap(*_image_point(page, 160, 40))
            page.wait_for_selector("#reader[data-marks='1']")
            page.screenshot(path=str(SCREENSHOTS / "marks-reading-820-touch.png"))
            page.tap("#marks-done")
            page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{case}'])")
        finally:
            context.close()
            browser.close()
            from django.db import connections

            connections.close_all()
    x, y = Mark.objects.filter(vote__membership=membership).values_list("x", "y").get()
    assert abs(x - 160) < 1.5 and abs(y - 40) < 1.5
