"""'Preview as a reader': the reading page on a study's first images for its admin, with no vote recorded, and the
images served exactly as a reader receives them (same bytes, same headers)."""
from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from readerstudy.gallery.services import case_exclude
from readerstudy.reading.models import PracticeVote, RepeatVote, SequenceSlot, Vote
from readerstudy.reading.preview import PREVIEW_IMAGES
from readerstudy.studies.models import Membership
from tests.factories import LOGIN, access_outcome

ACTORS = ("anonymous", "reader", "outsider", "staff")


@pytest.fixture
def study(study_factory, case_factory):
    study = study_factory("paper", status="open")
    for index in range(12):
        case_factory(study, finding=("effusion", "pneumonia")[index % 2], source=("real", "pix2pix")[index // 6])
    return study


@pytest.fixture
def admin(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def preview_all(client) -> list[dict]:
    """Answer every preview image through the endpoints the reading page calls, as the page does."""
    assert client.get("/studies/paper/preview/").status_code == 200  # opening the page starts a preview
    shown = []
    while (response := client.get("/studies/paper/preview/next/")).status_code == 200:
        shown.append(response.json())
        voted = client.post("/studies/paper/preview/votes/", {"case": shown[-1]["case"], "answer": "fake"},
                            content_type="application/json")
        assert voted.status_code == 200 and voted.json()["recorded"] is False
    assert response.status_code == 204
    return shown


def test_the_preview_is_the_reading_page_pointed_at_endpoints_that_record_nothing(admin, study):
    html = admin.get("/studies/paper/preview/").content.decode()
    assert 'id="reader" class="reader-grid"' in html and "js/reader.js" in html  # the readers' own page and script
    assert 'data-votes-url="/studies/paper/preview/votes/"' in html and "/api/studies/paper/votes/" not in html
    assert "Preview: not recorded" in html


def test_the_admin_goes_through_the_first_images_and_no_vote_is_stored(admin, study):
    shown = preview_all(admin)
    assert len(shown) == PREVIEW_IMAGES
    assert [image["position"] for image in shown] == list(range(1, PREVIEW_IMAGES + 1))
    assert {image["case"] for image in shown} <= set(study.cases.values_list("public_id", flat=True))
    assert len({image["case"] for image in shown}) == PREVIEW_IMAGES
    assert (Vote.objects.count(), RepeatVote.objects.count(), PracticeVote.objects.count(),
            Membership.objects.count(), SequenceSlot.objects.count()) == (0, 0, 0, 0, 0)
    assert "Preview finished" in admin.get("/studies/paper/preview/?done=1").content.decode()


def test_going_back_in_the_preview_shows_the_answer_given(admin, study):
    admin.get("/studies/paper/preview/")
    first = admin.get("/studies/paper/preview/next/").json()
    admin.post("/studies/paper/preview/votes/", {"case": first["case"], "answer": "real"},
               content_type="application/json")
    again = admin.get("/studies/paper/preview/sequence/1/").json()
    assert (again["case"], again["vote"]) == (first["case"], {"answer": "real", "confidence": None})
    assert admin.get("/studies/paper/preview/sequence/99/").status_code == 404


def test_a_preview_answer_for_another_case_or_without_an_answer_is_refused(admin, study):
    admin.get("/studies/paper/preview/")
    assert admin.post("/studies/paper/preview/votes/", {"case": "nope", "answer": "real"},
                      content_type="application/json").status_code == 400
    assert admin.post("/studies/paper/preview/votes/", {"case": "x"},
                      content_type="application/json").status_code == 400


def test_the_preview_image_is_the_same_bytes_and_headers_a_reader_receives(admin, study, reader_factory):
    reader = Client()
    reader.force_login(reader_factory(study, username="reader").user)
    received = {}  # case -> the image response a reader got for it, under the URL the reading API gave
    while (shown := reader.get("/api/studies/paper/next/")).status_code == 200:
        payload = shown.json()
        received[payload["case"]] = reader.get(payload["image_url"])
        assert reader.post("/api/studies/paper/votes/", {"case": payload["case"], "answer": "real"},
                           content_type="application/json").status_code == 201
    assert len(received) == study.cases.count()
    for image in preview_all(admin):
        preview_image, reader_image = admin.get(image["image_url"]), received[image["case"]]
        assert (preview_image.status_code, reader_image.status_code) == (200, 200)
        assert preview_image.content == reader_image.content
        assert dict(preview_image.headers) == dict(reader_image.headers)


def test_the_preview_answers_carry_the_fields_the_readers_api_sends(admin, study, reader_factory):
    reader = APIClient()
    reader.force_authenticate(reader_factory(study, username="reader").user)
    admin.get("/studies/paper/preview/")
    assert set(admin.get("/studies/paper/preview/next/").json()) == set(reader.get("/api/studies/paper/next/").data)


def test_the_preview_never_shows_an_excluded_case(study_factory, case_factory, staff_user, admin):
    draft = study_factory("paper-draft")
    cases = [case_factory(draft, source=("real", "stargan")[index % 2]) for index in range(4)]
    case_exclude(case=cases[0], actor=staff_user, reason="blank")
    admin.get("/studies/paper-draft/preview/")
    shown = []
    while (response := admin.get("/studies/paper-draft/preview/next/")).status_code == 200:
        shown.append(response.json()["case"])
        admin.post("/studies/paper-draft/preview/votes/", {"case": shown[-1], "answer": "real"},
                   content_type="application/json")
    assert sorted(shown) == sorted(case.public_id for case in cases[1:])


@pytest.mark.parametrize("method,path", [("get", "/studies/paper/preview/"), ("get", "/studies/paper/preview/next/"),
                                         ("get", "/studies/paper/preview/sequence/1/"),
                                         ("post", "/studies/paper/preview/votes/")])
def test_only_the_study_admin_can_preview(study, reader_factory, study_factory, staff_user, method, path):
    users = {"anonymous": None, "reader": reader_factory(study, username="reader").user,
             "outsider": reader_factory(study_factory("other", status="open"), username="outsider").user,
             "staff": staff_user}
    outcomes = []
    for actor in ACTORS:
        client = Client()
        if users[actor] is not None:
            client.force_login(users[actor])
        case = study.cases.first().public_id
        if actor == "staff":
            client.get("/studies/paper/preview/")
            case = client.get("/studies/paper/preview/next/").json()["case"]
        if method == "get":
            outcomes.append(access_outcome(client.get(path)))
        else:
            outcomes.append(access_outcome(client.post(path, {"case": case, "answer": "real"},
                                                       content_type="application/json")))
    assert outcomes == [LOGIN, 404, 404, 200]
    assert Vote.objects.count() == 0
