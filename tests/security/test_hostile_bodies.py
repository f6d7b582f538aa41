"""The outside probe's causes of 500 (issue 29), replayed: each is now a 400 naming the problem, and every JSON and
form body is bounded by the one body limit (413)."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from readerstudy.studies.models import Membership
from tests.factories import create_cases_fast

DEEP = "[" * 20_000 + "]" * 20_000  # 40 KB: under the anonymous body limit


@pytest.fixture
def open_study(study_factory, reader_factory):
    study = study_factory("paper", status="open")
    create_cases_fast(study, "effusion", "real", 2)
    create_cases_fast(study, "effusion", "pix2pix", 2)
    client = APIClient()
    client.force_login(reader_factory(study).user)
    return study, client


def raw_post(client, url: str, body: str | bytes, method: str = "post"):
    return getattr(client, method)(url, data=body, content_type="application/json")


@pytest.mark.parametrize("url,actor,method", [
    ("/api/studies/paper/votes/", "reader", "post"),
    ("/api/studies/paper/protocol/", "staff", "patch"),
    ("/api/studies/paper/readers/", "staff", "post"),
    ("/api/auth/token/", None, "post"),
])
def test_deeply_nested_json_is_refused_with_400(open_study, staff_api, url, actor, method):
    _study, reader = open_study
    client = {"reader": reader, "staff": staff_api, None: APIClient()}[actor]
    response = raw_post(client, url, DEEP, method)
    assert response.status_code == 400, response.content[:200]
    assert "nested deeper" in response.json()["detail"]


@pytest.mark.parametrize("url,body,method", [
    ("/api/studies/paper/votes/", '{"case": "x", "answer": "\\ud800"}', "post"),
    ("/api/studies/paper/protocol/", '{"exposure_mode": "\\udfff"}', "patch"),
    ("/api/auth/token/", '{"username": "\\ud800", "password": "x"}', "post"),
])
def test_a_lone_surrogate_is_refused_with_400(open_study, staff_api, url, body, method):
    _study, reader = open_study
    client = staff_api if "protocol" in url else reader if "votes" in url else APIClient()
    response = raw_post(client, url, body, method)
    assert response.status_code == 400 and "lone surrogate" in response.json()["detail"]


def test_control_characters_and_nan_in_json_are_refused_as_the_forms_refuse_them(open_study, staff_api):
    cue = staff_api.put("/api/studies/paper/cues/", {"cues": ["Rib\x01pattern"]}, format="json")
    assert cue.status_code == 400 and "U+0001" in cue.json()["detail"]
    nan = raw_post(staff_api, "/api/studies/paper/protocol/", '{"staircase_factor": NaN}', "patch")
    assert nan.status_code == 400


def test_every_json_and_form_body_is_bounded_by_the_body_limit(open_study, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    _study, reader = open_study
    big_json = raw_post(reader, "/api/studies/paper/votes/", '{"case": "' + "a" * 20_000 + '", "answer": "real"}')
    big_form = reader.post("/api/studies/paper/votes/", data="note=" + "a" * 20_000,
                           content_type="application/x-www-form-urlencoded")
    assert (big_json.status_code, big_form.status_code) == (413, 413)
    small = reader.post("/api/studies/paper/votes/", {"case": "nope", "answer": "real"}, format="json")
    assert small.status_code == 400  # the ordinary answer for an unknown case: the limit leaves small bodies alone


def test_a_fullwidth_username_where_the_plain_one_exists_is_refused_not_a_500(open_study, staff_user):
    study, _reader = open_study
    get_user_model().objects.create_user("12", password="a-long-password-1")
    api = APIClient()
    api.force_login(staff_user)
    response = api.post("/api/studies/paper/readers/", {"username": "１２"}, format="json")
    assert response.status_code == 400 and "'12'" in response.json()["errors"]["username"][0]
    page = Client()
    page.force_login(staff_user)
    form = page.post("/studies/paper/readers/", {"action": "add", "username": "１２", "password": ""})
    assert form.status_code == 200 and "look-alike" in form.content.decode()
    assert not Membership.objects.filter(study=study, user__username="12").exists()
    assert get_user_model().objects.filter(username__in=["12", "１２"]).count() == 1


def test_sign_up_refuses_look_alike_usernames(study_factory, staff_user):
    from readerstudy.studies.services import invitation_create

    study = study_factory("paper", status="open")
    get_user_model().objects.create_user("alice", password="a-long-password-1")
    invitation = invitation_create(study, staff_user, "")
    for name in ("Alice", "ａｌｉｃｅ", "аlice"):  # other capitals, fullwidth, a Cyrillic a
        response = Client().post(f"/invite/{invitation.token}/", {
            "username": name, "password1": "a-long-password-1", "password2": "a-long-password-1"})
        assert response.status_code == 200, name
        assert not get_user_model().objects.filter(username=name).exists()
    assert get_user_model().objects.filter(username__iexact="alice").count() == 1
