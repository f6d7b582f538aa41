"""Withdrawing an invitation link in Chromium at 1280 and 820 px: the readers page's Withdraw asks first on its own
page, the answer comes back as a message and the row is gone; nothing runs out of the window. Screenshots in
var/screenshots."""
from __future__ import annotations

import pytest

from readerstudy.studies.models import Invitation
from tests.browser.conftest import SCREENSHOTS, log_in, overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"1280": {"width": 1280, "height": 800}, "820": {"width": 820, "height": 1180}}


@pytest.mark.parametrize("size", SIZES)
def test_an_admin_withdraws_a_link_after_saying_yes(page, live_server, study_factory, staff_user, size):
    study = study_factory("paper", status="open", name="Chest X-ray reader study")
    link = Invitation.objects.create(study=study, note="Dr B", created_by=staff_user)
    Invitation.objects.create(study=study, note="Dr Keep", created_by=staff_user)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, SIZES[size])
    page.goto(live_server.url + "/studies/paper/readers/")
    assert overflow(page) == 0
    page.click(f"#invitations tr[data-invitation='{link.pk}'] button:has-text('Withdraw')")
    page.wait_for_selector("#confirm-withdraw")
    assert "Withdraw the invitation link for Dr B?" in page.inner_text("h1")
    assert "cannot be undone" in page.inner_text("main") and overflow(page) == 0
    page.screenshot(path=str(SCREENSHOTS / f"confirm-withdraw-{size}.png"), full_page=True)
    page.click("#confirm-withdraw")
    page.wait_for_selector(".messages")
    assert "The invitation link for Dr B was withdrawn" in page.inner_text(".messages")
    assert page.locator(f"#invitations tr[data-invitation='{link.pk}']").count() == 0
    assert "Dr Keep" in page.inner_text("#invitations") and overflow(page) == 0
    page.screenshot(path=str(SCREENSHOTS / f"readers-withdrawn-{size}.png"), full_page=True)
