"""A study that asks for confidence refuses an answer without one (400 naming `confidence`, nothing stored), on a
first showing, a repeat and a practice image alike; a study that does not ask takes answers without it."""
import pytest
from rest_framework.test import APIClient

from readerstudy.reading import lifecycle, services
from readerstudy.reading.models import PracticeVote, RepeatVote, SequenceSlot, Vote
from readerstudy.studies.models import Source


@pytest.fixture
def study(study_factory, case_factory, staff_user, make_png):
    study = study_factory("paper", status="draft", ask_confidence=True)
    for index in range(8):
        case_factory(study, finding="effusion", source="real" if index % 2 else "pix2pix")
    for index, source in enumerate(("real", "pix2pix")):
        services.practice_image_add(study, staff_user, png_bytes=make_png(seed=700 + index),
                                    source=Source.objects.get(slug=source))
    services.settings_update(study, staff_user, {"practice_count": 2, "repeat_percent": 25})
    lifecycle.study_transition(study, staff_user, "open")
    return study


def reader(membership) -> APIClient:
    client = APIClient()
    client.force_login(membership.user)
    return client


def post(client, case: str, **extra):
    return client.post("/api/studies/paper/votes/", {"case": case, "answer": "fake", **extra}, format="json")


def assert_refused(response) -> None:
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["confidence"]


def answer_until(client, phase_wanted, membership) -> str:
    """Answer (with a confidence) until the next image handed out is of ``phase_wanted``; return its id."""
    while True:
        body = client.get("/api/studies/paper/next/").json()
        slot = SequenceSlot.objects.filter(membership=membership, public_id=body["case"]).first()
        is_repeat = slot is not None and slot.is_repeat
        phase = "practice" if body.get("practice") else ("repeat" if is_repeat else "first")
        if phase == phase_wanted:
            return body["case"]
        assert post(client, body["case"], confidence=3).status_code == 201


def test_a_practice_answer_without_confidence_is_refused_and_not_stored(study, reader_factory):
    membership = reader_factory(study)
    client = reader(membership)
    case = answer_until(client, "practice", membership)
    assert_refused(post(client, case))
    assert_refused(post(client, case, confidence=None))
    assert not PracticeVote.objects.exists()
    assert post(client, case, confidence=2).status_code == 201


def test_a_first_showing_without_confidence_is_refused_and_not_stored(study, reader_factory):
    membership = reader_factory(study)
    client = reader(membership)
    case = answer_until(client, "first", membership)
    assert_refused(post(client, case))
    assert not Vote.objects.exists()
    assert post(client, case, confidence=5).status_code == 201
    assert Vote.objects.get().confidence == 5


def test_resending_a_stored_vote_without_its_confidence_is_refused_too(study, reader_factory):
    membership = reader_factory(study)
    client = reader(membership)
    case = answer_until(client, "first", membership)
    post(client, case, confidence=4)
    assert_refused(post(client, case))
    assert Vote.objects.get().confidence == 4


def test_a_repeat_without_confidence_is_refused_and_not_stored(study, reader_factory):
    membership = reader_factory(study)
    client = reader(membership)
    case = answer_until(client, "repeat", membership)
    assert_refused(post(client, case))
    assert not RepeatVote.objects.exists()
    assert post(client, case, confidence=1).status_code == 201


def test_a_study_that_does_not_ask_takes_answers_without_confidence(study, reader_factory):
    study.ask_confidence = False
    study.save(update_fields=["ask_confidence"])
    membership = reader_factory(study)
    client = reader(membership)
    case = answer_until(client, "first", membership)
    assert post(client, case).status_code == 201
    assert Vote.objects.get().confidence is None
