"""Marks on votes: stored with the answer in one transaction, in the 224 px image's pixels; bad marks refused with a
400 naming ``marks`` while nothing is stored; a study without marks reads exactly as before."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from readerstudy.reading.models import Mark, RepeatVote, StudyProtocol, Vote


@pytest.fixture
def marking(study_factory, reader_factory, case_factory):
    def build(marks_mode="fake", max_marks=3, ask_confidence=False, allow_vote_changes=False):
        study = study_factory("paper", status="open", ask_confidence=ask_confidence,
                              allow_vote_changes=allow_vote_changes)
        StudyProtocol.objects.create(study=study, marks_mode=marks_mode, max_marks=max_marks)
        cases = [case_factory(study, source=source) for source in ("real", "pix2pix")]
        membership = reader_factory(study, username="alice")
        client = APIClient()
        client.force_authenticate(membership.user)
        return cases, client
    return build


def vote(client, case, answer="fake", **extra):
    return client.post("/api/studies/paper/votes/", {"case": case.public_id, "answer": answer, **extra},
                       format="json")


def test_a_fake_answer_is_stored_with_its_marks_in_image_pixels(marking):
    cases, client = marking()
    response = vote(client, cases[1], marks=[{"x": 10.5, "y": 200}, {"x": 0, "y": 223.9}])
    assert response.status_code == 201
    assert list(Mark.objects.values_list("vote__case", "x", "y", "confidence")) == [
        (cases[1].pk, 10.5, 200.0, None), (cases[1].pk, 0.0, 223.9, None)]


def test_each_mark_carries_its_confidence_where_the_study_asks_for_one(marking):
    cases, client = marking(ask_confidence=True)
    assert vote(client, cases[1], confidence=4, marks=[{"x": 5, "y": 5, "confidence": 2}]).status_code == 201
    assert Mark.objects.get().confidence == 2


def test_a_fake_answer_without_marks_is_a_plain_vote(marking):
    cases, client = marking()
    assert vote(client, cases[1]).status_code == 201
    assert (Vote.objects.count(), Mark.objects.count()) == (1, 0)


@pytest.mark.parametrize(("setup", "answer", "marks", "says"), [
    ({}, "fake", [{"x": 224, "y": 3}], "outside the image"),
    ({}, "fake", [{"x": -0.5, "y": 3}], "outside the image"),
    ({"max_marks": 2}, "fake", [{"x": 1, "y": 1}] * 3, "at most 2"),
    ({}, "real", [{"x": 1, "y": 1}], "after a Fake answer only"),
    ({"marks_mode": "off"}, "fake", [{"x": 1, "y": 1}], "does not ask for marks"),
    ({"ask_confidence": True}, "fake", [{"x": 1, "y": 1}], "has no confidence"),
    ({}, "fake", [{"x": 1, "y": 1, "confidence": 3}], "does not ask for one"),
])
def test_bad_marks_are_refused_naming_the_field_and_nothing_is_stored(marking, setup, answer, marks, says):
    cases, client = marking(**setup)
    extra = {"confidence": 3} if setup.get("ask_confidence") else {}
    response = vote(client, cases[1], answer, marks=marks, **extra)
    assert response.status_code == 400
    assert "marks" in response.json()["errors"] and says in response.json()["detail"]
    assert (Vote.objects.count(), Mark.objects.count()) == (0, 0)


def test_a_mark_without_coordinates_is_refused_by_the_serializer(marking):
    cases, client = marking()
    response = vote(client, cases[1], marks=[{"x": 3}])
    assert response.status_code == 400 and "marks" in response.json()["errors"]
    assert Vote.objects.count() == 0


def test_a_real_answer_may_carry_marks_where_the_study_asks_after_both(marking):
    cases, client = marking(marks_mode="fake_and_real")
    assert vote(client, cases[0], "real", marks=[{"x": 100, "y": 100}]).status_code == 201
    assert Mark.objects.count() == 1


def test_the_same_answer_again_keeps_the_stored_marks_and_a_changed_answer_replaces_them(marking):
    cases, client = marking(marks_mode="fake_and_real", allow_vote_changes=True)
    vote(client, cases[1], marks=[{"x": 1, "y": 1}, {"x": 2, "y": 2}])
    assert vote(client, cases[1], marks=[{"x": 9, "y": 9}]).status_code == 200
    assert Mark.objects.count() == 2
    assert vote(client, cases[1], "real", marks=[{"x": 50, "y": 60}]).status_code == 200
    assert list(Mark.objects.values_list("x", "y")) == [(50.0, 60.0)]


def test_a_vote_with_marks_costs_one_statement_more_than_without(marking):
    cases, client = marking()
    vote(client, cases[0], "real")  # warm the reader's sequence and caches
    with CaptureQueriesContext(connection) as plain:
        vote(client, cases[1], "fake")
    Vote.objects.filter(case=cases[1]).delete()
    with CaptureQueriesContext(connection) as marked:
        vote(client, cases[1], "fake", marks=[{"x": 1, "y": 1}, {"x": 2, "y": 2}, {"x": 3, "y": 3}])
    assert len(marked.captured_queries) == len(plain.captured_queries) + 1


def test_marks_on_a_repeat_are_checked_like_a_first_showings_and_not_stored(study_factory, reader_factory,
                                                                           case_factory):
    from readerstudy.reading.models import SequenceSlot
    from readerstudy.reading.services import freeze_sequence

    study = study_factory("paper", status="open")
    StudyProtocol.objects.create(study=study, marks_mode="fake", repeat_percent=100)
    for source in ("real", "pix2pix"):
        case_factory(study, source=source)
    membership = reader_factory(study, username="alice")
    freeze_sequence(membership)
    client = APIClient()
    client.force_authenticate(membership.user)
    repeat = SequenceSlot.objects.filter(membership=membership, is_repeat=True).first()
    send = lambda marks: client.post("/api/studies/paper/votes/",  # noqa: E731
                                     {"case": repeat.public_id, "answer": "fake", "marks": marks}, format="json")
    assert send([{"x": 300, "y": 1}]).status_code == 400
    assert send([{"x": 3, "y": 1}]).status_code == 201
    assert RepeatVote.objects.count() == 1 and Mark.objects.count() == 0


def test_the_admin_sets_the_marking_protocol_on_the_protocol_page(study_factory, staff_user):
    from django.test import Client

    from readerstudy.reading.views import _initial_settings

    study = study_factory("paper", status="draft")
    client = Client()
    client.force_login(staff_user)
    page = client.get("/studies/paper/protocol/").content.decode()
    assert 'name="marks_mode"' in page and 'name="max_marks"' in page
    form = {key: value for key, value in _initial_settings(study).items() if value is not None and value is not False}
    response = client.post("/studies/paper/protocol/", {**form, "marks_mode": "fake_and_real", "max_marks": 5})
    assert response.status_code == 302
    protocol = StudyProtocol.objects.get(study=study)
    assert (protocol.marks_mode, protocol.max_marks) == ("fake_and_real", 5)


def test_asking_for_marks_changes_nothing_a_reader_is_served(study_factory, reader_factory, case_factory):
    """Blinding: the next image's payload and a vote's answer have the same shape with marks asked or not."""
    shapes = []
    for slug, mode in (("plain", "off"), ("marked", "fake")):
        study = study_factory(slug, status="open")
        StudyProtocol.objects.create(study=study, marks_mode=mode)
        for source in ("real", "pix2pix"):
            case_factory(study, source=source)
        membership = reader_factory(study)
        client = APIClient()
        client.force_authenticate(membership.user)
        served = client.get(f"/api/studies/{slug}/next/").json()
        answered = client.post(f"/api/studies/{slug}/votes/", {"case": served["case"], "answer": "fake"},
                               format="json").json()
        shapes.append((sorted(served), sorted(answered)))
    assert shapes[0] == shapes[1]
