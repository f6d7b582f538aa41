"""The analysis-plan page in a real browser at 1280 and 820 px: a draft study's admin registers the plan through the
form (the proposal of readers x cases beside it), adopts a row as the planned size in one click, and nothing on the
page overflows. Screenshots in var/screenshots."""
import pytest

from readerstudy.results.models import AnalysisPlan
from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 860), "tablet": (820, 1180)}


@pytest.mark.parametrize("device", list(WIDTHS))
def test_the_admin_registers_the_plan_through_the_page(page, live_server, study_factory, staff_user, device):
    study_factory("planned", status="draft", name="Planned study", ask_confidence=True)
    width, height = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin-pass-123")
    page.click("button[type=submit]")
    page.goto(live_server.url + "/studies/planned/results/plan/")
    page.select_option("#id_endpoint", "auc")
    page.fill("#id_margin", "0.08")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector(".messages")
    assert "Analysis plan registered" in page.inner_text(".messages")
    plan = AnalysisPlan.objects.get(study__slug="planned")
    assert (plan.endpoint, plan.margin) == ("auc", 0.08)
    assert "population AUC against the real images is 0.5" in page.inner_text("#proposal-note")
    page.click("#adopt-15")
    page.wait_for_selector("#proposal tr[data-readers='15'] strong:has-text('planned')")
    assert "Planned size: 15 readers x" in page.inner_text(".messages")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"analysis-plan-{device}.png"), full_page=True)
    page.goto(live_server.url + "/studies/planned/")
    assert "needs" in page.inner_text("#checklist li[data-item='power']")
    page.screenshot(path=str(SCREENSHOTS / f"study-home-planned-{device}.png"), full_page=True)
