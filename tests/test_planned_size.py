"""One planning concept: a row of the registered analysis plan's proposal (readers x cases for 80% power) is adopted
as the study's planned size in one click, and the study home compares the planned size with what the registered
plan needs. One rule (``results.planned_size``) behind the plan page, its button and the home's checklist."""
from __future__ import annotations

from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from readerstudy.reading import lifecycle
from readerstudy.results.analysis_plan import cases_for_power, plan_set, proposal
from readerstudy.studies.models import AuditEntry, Study

ADOPT = "/studies/paper/results/plan/adopt/"
# The called-real rate at margin 0.20: 3 readers cannot reach 80% power, 5 readers need 505 cases, 8 need 111.
MARGIN = 0.20


@pytest.fixture
def admin_page(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def registered(study_factory, staff_user):
    study = study_factory("paper")
    plan_set(study, staff_user, endpoint="called_real", test="non_inferiority", margin=MARGIN, alpha=0.05)
    return study


def needed(readers: int) -> int | None:
    return cases_for_power("called_real", MARGIN, 0.05, readers)


def power_item(client):
    return next(item for item in client.get("/studies/paper/").context["items"] if item.key == "power")


def test_the_proposal_and_the_planned_size_check_use_one_rule():
    rows = {row["readers"]: row["cases"] for row in proposal("called_real", MARGIN, 0.05)["rows"]}
    assert rows[3] is None and rows[5] == needed(5) and rows[8] == needed(8) < rows[5]


def test_adopting_a_row_sets_the_planned_size_audited_and_the_page_and_api_agree(registered, staff_user, staff_api,
                                                                                admin_page):
    page = admin_page.get("/studies/paper/results/plan/").content.decode()
    assert f"Adopt 8 × {needed(8)}" in page and 'id="adopt-3"' not in page  # 3 readers: not reachable, no button
    response = admin_page.post(ADOPT, {"readers": 8}, follow=True)
    assert response.redirect_chain[-1][0] == "/studies/paper/results/plan/"
    assert f"Planned size: 8 readers x {needed(8)} cases" in response.content.decode()
    registered.refresh_from_db()
    assert (registered.planned_readers, registered.planned_cases) == (8, needed(8))
    entries = AuditEntry.objects.filter(study=registered, action="setting", field__startswith="planned_")
    assert {(entry.field, entry.new_value, entry.actor) for entry in entries} == {
        ("planned_readers", "8", staff_user), ("planned_cases", str(needed(8)), staff_user)}
    detail = staff_api.get("/api/studies/paper/").json()
    assert (detail["planned_readers"], detail["planned_cases"]) == (8, needed(8))
    assert "<strong>planned</strong>" in response.content.decode()  # the adopted row says so, without a button


def test_the_cases_come_from_the_plan_never_from_the_request(registered, admin_page):
    admin_page.post(ADOPT, {"readers": 8, "cases": 3})
    registered.refresh_from_db()
    assert registered.planned_cases == needed(8)


@pytest.mark.parametrize(("readers", "said"), [
    (3, "With 3 readers no number of cases gives the registered plan"),
    (7, "Adopt one of the proposal's rows: 3, 5, 8, 10, 15, 20 readers."),
    ("", "Choose a row of the proposal to adopt."),
])
def test_a_row_that_cannot_be_adopted_is_refused_with_why_and_nothing_stored(registered, admin_page, readers, said):
    response = admin_page.post(ADOPT, {"readers": readers}, follow=True)
    assert said in unescape(response.content.decode())
    registered.refresh_from_db()
    assert (registered.planned_readers, registered.planned_cases) == (None, None)
    assert not AuditEntry.objects.filter(study=registered, action="setting").exists()


def test_without_a_registered_plan_there_is_nothing_to_adopt(study_factory, admin_page):
    study = study_factory("paper")
    page = admin_page.get("/studies/paper/results/plan/").content.decode()
    assert "Adopt " not in page and "Register the plan to adopt" in page
    response = admin_page.post(ADOPT, {"readers": 8}, follow=True)
    assert "Register the analysis plan first" in response.content.decode()
    study.refresh_from_db()
    assert study.planned_readers is None


@pytest.mark.parametrize("who", ["reader", "other_admin"])
def test_a_reader_or_another_studys_admin_cannot_adopt(registered, study_factory, reader_factory, who):
    if who == "reader":
        user = reader_factory(registered, username="reader").user
    else:
        user = get_user_model().objects.create_user("other-admin", is_staff=True)
        study_factory("other", admins=[user])
    client = Client()
    client.force_login(user)
    assert client.post(ADOPT, {"readers": 8}).status_code == 404
    registered.refresh_from_db()
    assert registered.planned_readers is None


def test_the_planned_size_is_not_frozen_by_opening_so_neither_is_adopting(registered, case_factory, staff_user,
                                                                          admin_page):
    """As on the study home's form (the planned size is a target, not the analysis): the plan is frozen, the planned
    size is not."""
    case_factory(registered, source="real")
    case_factory(registered, source="stargan")
    lifecycle.study_transition(registered, staff_user, Study.Status.OPEN)
    admin_page.post(ADOPT, {"readers": 10})
    registered.refresh_from_db()
    assert (registered.planned_readers, registered.planned_cases) == (10, needed(10))


def test_the_home_shows_the_planned_size_beside_what_the_registered_plan_needs(registered, admin_page):
    admin_page.post("/studies/paper/plan/", {"planned_readers": 8, "planned_cases": needed(8) + 9})
    item = power_item(admin_page)
    assert item.done
    assert item.detail == (f"Planned 8 readers x {needed(8) + 9} cases; the registered plan (called-real rate, margin "
                           f"0.2, one-sided alpha 0.05) needs {needed(8)} cases at 8 readers for 80% power.")


@pytest.mark.parametrize(("readers", "cases", "said"), [
    (8, 40, "falls short: the registered plan (called-real rate, margin 0.2, one-sided alpha 0.05) needs"),
    (3, 5000, "falls short: with 3 readers no number of cases gives the registered plan"),
    (1, 5000, "too few: the registered plan (called-real rate, margin 0.2, one-sided alpha 0.05) is tested with at "
              "least 2 readers"),
])
def test_the_home_warns_when_the_planned_size_falls_short_and_points_to_the_proposal(registered, admin_page, readers,
                                                                                     cases, said):
    admin_page.post("/studies/paper/plan/", {"planned_readers": readers, "planned_cases": cases})
    item = power_item(admin_page)
    assert not item.done and said in item.detail
    assert item.url == "/studies/paper/results/plan/#proposal"
    plan_page = admin_page.get("/studies/paper/results/plan/").content.decode()
    assert 'id="planned-size" class="warning"' in plan_page and said in plan_page


def test_without_a_registered_plan_the_home_keeps_the_plain_planned_size(study_factory, admin_page):
    study_factory("paper")
    admin_page.post("/studies/paper/plan/", {"planned_readers": 5, "planned_cases": 100})
    item = power_item(admin_page)
    assert item.done and item.detail == "Planned: 5 readers x 100 cases."
