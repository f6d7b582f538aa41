"""The study lifecycle on every route: closed is final (page, API status/ and open/, commands, Django admin), each
change audited once, the irreversible ones asked first in the page, paused studies serve readers nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from readerstudy.reading import lifecycle
from readerstudy.reading.services import TransitionRefused
from readerstudy.studies.models import AuditEntry, Study


@pytest.fixture
def study(study_factory, case_factory, staff_user):
    study = study_factory("paper")
    case_factory(study, source="real")
    case_factory(study, source="pix2pix")
    return study


@pytest.fixture
def admin_page(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def status_entries(study) -> list[tuple[str, str]]:
    return list(AuditEntry.objects.filter(study=study, action="status").order_by("pk")
                .values_list("old_value", "new_value"))


def test_a_closed_study_stays_closed_on_every_route(study, staff_user, staff_api, admin_page):
    lifecycle.study_transition(study, staff_user, "open")
    lifecycle.study_transition(study, staff_user, "closed")

    assert staff_api.post("/api/studies/paper/open/").status_code == 409
    assert staff_api.post("/api/studies/paper/status/", {"status": "open"}, format="json").status_code == 409
    assert staff_api.post("/api/studies/paper/status/", {"status": "paused"}, format="json").status_code == 409
    with pytest.raises(CommandError, match="closing is final"):
        call_command("open_study", "paper")
    with pytest.raises(CommandError, match="closing is final"):
        call_command("study_status", "paper", "open", "--yes")
    admin_page.post("/studies/paper/protocol/status/", {"status": "open", "confirm": "yes"})

    study.refresh_from_db()
    assert study.status == "closed"
    assert status_entries(study) == [("draft", "open"), ("open", "closed")]  # the refusals changed nothing


def test_the_api_open_route_checks_and_audits_like_the_status_route(study_factory, staff_user, staff_api):
    empty = study_factory("empty")
    refused = staff_api.post("/api/studies/empty/open/")
    assert refused.status_code == 409 and "no cases" in refused.json()["detail"]

    assert staff_api.post("/api/studies/empty/status/", {"status": "open"}, format="json").status_code == 409
    assert status_entries(empty) == []


def test_each_change_is_audited_once_whatever_the_route(study, staff_user, staff_api, admin_page):
    assert staff_api.post("/api/studies/paper/open/").status_code == 200
    assert staff_api.post("/api/studies/paper/open/").status_code == 200  # already open: no second entry
    admin_page.post("/studies/paper/protocol/status/", {"status": "paused"})
    call_command("study_status", "paper", "open")
    call_command("study_status", "paper", "closed", "--yes")
    assert status_entries(study) == [("draft", "open"), ("open", "paused"), ("paused", "open"), ("open", "closed")]


def test_closing_in_the_page_asks_first_and_declining_leaves_it_open(study, staff_user, admin_page):
    lifecycle.study_transition(study, staff_user, "open")
    asked = admin_page.post("/studies/paper/protocol/status/", {"status": "closed", "next": "/studies/paper/"})
    text = asked.content.decode()
    assert asked.status_code == 200 and "This cannot be undone" in text
    assert "Closing is final" in text and "Readers who open the study see that it is closed" in text
    study.refresh_from_db()
    assert study.status == "open"

    done = admin_page.post("/studies/paper/protocol/status/",
                           {"status": "closed", "confirm": "yes", "next": "/studies/paper/"})
    assert done.status_code == 302 and done["Location"] == "/studies/paper/"
    study.refresh_from_db()
    assert study.status == "closed"


def test_opening_in_the_page_says_what_freezes(study, admin_page):
    asked = admin_page.post("/studies/paper/protocol/status/", {"status": "open"})
    text = asked.content.decode()
    assert "sequence is frozen" in text and "freeze at the first vote" in text
    study.refresh_from_db()
    assert study.status == "draft"


def test_the_command_asks_for_yes_before_closing(study, staff_user):
    lifecycle.study_transition(study, staff_user, "open")
    with pytest.raises(CommandError, match="cannot be undone"):
        call_command("study_status", "paper", "closed")
    study.refresh_from_db()
    assert study.status == "open"


def test_closing_with_a_vote_in_flight_is_refused_until_it_is_answered(study, staff_user, reader_factory):
    membership = reader_factory(study, username="reader")
    lifecycle.study_transition(study, staff_user, "open")
    api = APIClient()
    api.force_authenticate(membership.user)
    shown = api.get("/api/studies/paper/next/").json()

    with pytest.raises(TransitionRefused, match="1 reader has an image on screen not yet answered"):
        lifecycle.study_transition(study, staff_user, "closed")
    assert api.post("/api/studies/paper/votes/", {"case": shown["case"], "answer": "real"},
                    format="json").status_code == 201
    lifecycle.study_transition(study, staff_user, "closed")
    assert Study.objects.get(pk=study.pk).status == "closed"


def test_an_image_shown_long_ago_and_left_is_not_in_flight(study, staff_user, reader_factory):
    from readerstudy.reading.models import ImageShowing

    membership = reader_factory(study, username="reader")
    lifecycle.study_transition(study, staff_user, "open")
    api = APIClient()
    api.force_authenticate(membership.user)
    api.get("/api/studies/paper/next/")
    ImageShowing.objects.update(shown_at=timezone.now() - lifecycle.IN_FLIGHT_WINDOW - timedelta(seconds=1))
    lifecycle.study_transition(study, staff_user, "closed")


def test_a_paused_study_serves_its_readers_no_image(study, staff_user, reader_factory):
    membership = reader_factory(study, username="reader")
    lifecycle.study_transition(study, staff_user, "open")
    api = APIClient()
    api.force_authenticate(membership.user)
    browser = Client()
    browser.force_login(membership.user)
    image_url = api.get("/api/studies/paper/next/").json()["image_url"]
    assert browser.get(image_url).status_code == 200

    lifecycle.study_transition(study, staff_user, "paused")
    assert browser.get(image_url).status_code == 404
    assert api.get("/api/studies/paper/next/").status_code == 409

    lifecycle.study_transition(study, staff_user, "open")
    assert browser.get(image_url).status_code == 200


def test_django_admin_shows_the_status_read_only_and_creates_no_study(study, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="root-pass-123")
    client = Client()
    client.force_login(root)
    form = client.get(f"/admin/studies/study/{study.pk}/change/")
    assert form.status_code == 200 and 'name="status"' not in form.content.decode()
    client.post(f"/admin/studies/study/{study.pk}/change/", {"name": "Paper", "slug": "paper", "status": "closed"})
    study.refresh_from_db()
    assert study.status == "draft"
    assert client.get("/admin/studies/study/add/").status_code == 403


def test_practice_images_are_added_from_the_protocol_page(study, admin_page):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import make_png

    upload = SimpleUploadedFile("practice.png", make_png(seed=4242), content_type="image/png")
    response = admin_page.post("/studies/paper/protocol/practice-images/",
                               {"image": upload, "source": "pix2pix", "finding": "effusion"})
    assert response.status_code == 302
    (image,) = study.practice_images.all()
    assert (image.source.slug, image.finding.slug) == ("pix2pix", "effusion")
    assert AuditEntry.objects.filter(study=study, action="practice_image").count() == 1

    again = admin_page.post("/studies/paper/protocol/practice-images/",
                            {"image": SimpleUploadedFile("practice.png", make_png(seed=4242)), "source": "real"},
                            follow=True)
    assert "already in the practice pool" in again.content.decode()
    assert study.practice_images.count() == 1


def test_a_move_the_lifecycle_forbids_is_refused_before_any_confirmation(study, staff_user, admin_page):
    lifecycle.study_transition(study, staff_user, "open")
    refused = admin_page.post("/studies/paper/protocol/status/", {"status": "draft"}, follow=True)
    assert "cannot return to draft" in refused.content.decode()
    assert 'id="confirm-status"' not in refused.content.decode()
