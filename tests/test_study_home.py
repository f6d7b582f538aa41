"""The study home: the set-up checklist and the next action follow the study, the status buttons offer only the
moves the lifecycle allows, and every study page carries the one shared study navigation."""
from __future__ import annotations

import pytest
from django.test import Client

from readerstudy.reading import lifecycle
from readerstudy.studies.models import Invitation


@pytest.fixture
def admin_page(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def home(client) -> tuple[dict, str, list[str]]:
    response = client.get("/studies/paper/")
    items = {item.key: item.done for item in response.context["items"]}
    buttons = [action["to"] for action in response.context["status_actions"]]
    return items, response.context["next_action"], buttons


def test_the_checklist_and_the_next_action_follow_the_set_up(study_factory, case_factory, reader_factory,
                                                             staff_user, admin_page):
    study = study_factory("paper")
    items, action, buttons = home(admin_page)
    assert items == {"batch": False, "readers": False, "protocol": False, "power": False, "claim": False}
    assert action == "Upload a batch zip" and buttons == ["open"]

    case_factory(study, source="real")
    case_factory(study, source="stargan")
    reader_factory(study, username="reader")
    admin_page.post("/studies/paper/plan/", {"planned_readers": 5, "planned_cases": 100})
    items, action, _buttons = home(admin_page)
    assert items["readers"] and items["protocol"] and items["power"]
    assert not items["batch"]  # cases made outside a batch: no imported, audited batch yet

    lifecycle.study_transition(study, staff_user, "open")
    _items, action, buttons = home(admin_page)
    assert action == "Watch the readers' progress and flags" and buttons == ["paused", "closed"]
    lifecycle.study_transition(study, staff_user, "closed")
    _items, action, buttons = home(admin_page)
    assert action == "Read the results and download the exports" and buttons == []


def test_the_plan_is_audited_and_bad_numbers_are_refused(study_factory, admin_page):
    study = study_factory("paper")
    admin_page.post("/studies/paper/plan/", {"planned_readers": 6, "planned_cases": 120})
    refused = admin_page.post("/studies/paper/plan/", {"planned_readers": 0}, follow=True)
    assert "whole numbers from 1" in refused.content.decode()
    study.refresh_from_db()
    assert (study.planned_readers, study.planned_cases) == (6, 120)
    assert study.audit_entries.filter(action="setting", field__startswith="planned_").count() == 2


def test_the_checklist_counts_unused_invitation_links(study_factory, staff_user, admin_page):
    study = study_factory("paper")
    Invitation.objects.create(study=study, created_by=staff_user)
    detail = {item.key: item.detail for item in admin_page.get("/studies/paper/").context["items"]}
    assert "1 invitation link not used yet" in detail["readers"]


STUDY_PAGES = ["", "batches/", "cases/", "readers/", "protocol/", "sequences/", "preview/?done=1", "generate/",
               "results/", "audit/"]


@pytest.mark.parametrize("path", STUDY_PAGES)
def test_every_study_page_has_the_one_shared_navigation(study_factory, case_factory, admin_page, path):
    study = study_factory("paper")
    case_factory(study, source="real")
    text = admin_page.get(f"/studies/paper/{path}").content.decode()
    assert text.count('class="study-nav"') == 1
    for target in ("/studies/paper/", "/studies/paper/batches/", "/studies/paper/cases/", "/studies/paper/readers/",
                   "/studies/paper/protocol/", "/studies/paper/sequences/", "/studies/paper/preview/",
                   "/studies/paper/generate/", "/studies/paper/results/", "/studies/paper/audit/"):
        assert f'href="{target}"' in text, target
