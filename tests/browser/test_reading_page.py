"""The reading page in a real browser (Debian's Chromium through Playwright): log in, vote by mouse and by keyboard,
reload mid-study and resume at the right image, reach the finish page; a screenshot of the page is kept."""
import pytest

from readerstudy.demo.images import chest_png
from readerstudy.reading.models import Vote
from readerstudy.studies.models import Finding, Source
from readerstudy.studies.services import case_create_from_png
from tests.browser.conftest import SCREENSHOTS
from tests.factories import sequence_case_ids

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reading_study(study_factory, reader_factory):
    study = study_factory("paper", status="open", name="Chest X-ray reader study")
    findings, sources = list(Finding.objects.all()), list(Source.objects.all())
    for index in range(5):
        case_create_from_png(study=study, finding=findings[index % 6], source=sources[index % 4],
                             png_bytes=chest_png(findings[index % 6].slug, sources[index % 4].slug, index))
    return study, reader_factory(study, username="reader", password="reader-pass-123")


def current_case(page) -> str:
    page.wait_for_selector("#reader[data-ready='1']")
    return page.get_attribute("#reader", "data-case")


def test_a_reader_reads_a_study_in_the_browser(page, live_server, reading_study):
    study, membership = reading_study
    order = [study.cases.get(pk=pk).public_id for pk in sequence_case_ids(membership)]

    page.goto(live_server.url + "/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", "reader-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url("**/studies/paper/read/")
    assert current_case(page) == order[0]
    assert page.inner_text(".progress-text").strip() == "1 of 5"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reading-page.png"))

    page.click("button.answer.real")  # by mouse
    assert current_case(page) == order[1]
    page.keyboard.press("f")  # by keyboard
    assert current_case(page) == order[2]
    page.keyboard.press("ArrowLeft")
    assert current_case(page) == order[3]
    assert page.inner_text(".progress-text").strip() == "4 of 5"

    page.reload()  # mid-study: resumes at the first unread image
    assert current_case(page) == order[3]
    votes = {v.case.public_id: v for v in Vote.objects.filter(membership=membership).select_related("case")}
    assert [votes[c].answer for c in order[:3]] == ["real", "fake", "real"]
    assert all(votes[c].time_ms is not None and votes[c].time_ms >= 0 for c in order[:3])
    assert [votes[c].position for c in order[:3]] == [1, 2, 3]

    page.keyboard.press("ArrowRight")
    assert current_case(page) == order[4]
    page.click("button.answer.fake")
    page.wait_for_url("**/studies/paper/finished/")
    assert "All done" in page.inner_text("h1")
    assert Vote.objects.filter(membership=membership).count() == 5


def test_a_confidence_step_follows_the_answer_when_the_study_asks_for_it(page, live_server, reading_study):
    study, membership = reading_study
    study.ask_confidence = True
    study.save()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", "reader-pass-123")
    page.click("button[type=submit]")
    first = current_case(page)
    page.keyboard.press("r")
    page.wait_for_selector("#confidence:not([hidden])")
    page.keyboard.press("4")
    assert current_case(page) != first
    vote = Vote.objects.get(membership=membership)
    assert (vote.case.public_id, vote.answer, vote.confidence) == (first, "real", 4)


def test_back_changes_the_previous_vote_when_the_study_allows_it(page, live_server, reading_study):
    study, membership = reading_study
    study.allow_vote_changes = True
    study.save()
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet held upright
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", "reader-pass-123")
    page.click("button[type=submit]")
    first = current_case(page)
    page.click("button.answer.real")
    current_case(page)
    page.click("#back")
    assert current_case(page) == first
    page.click("button.answer.fake")
    page.wait_for_selector(f"#reader[data-ready='1']:not([data-case='{first}'])")
    assert Vote.objects.get(membership=membership, case__public_id=first).answer == "fake"
    page.screenshot(path=str(SCREENSHOTS / "reading-page-tablet.png"))
