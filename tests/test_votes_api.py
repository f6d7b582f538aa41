"""Casting votes through the API: stored at once, idempotent, final unless the study allows changes, and bad input
refused with a 4xx naming the field while nothing is stored."""
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from readerstudy.reading import votes
from readerstudy.reading.models import Vote
from tests.factories import sequence_case_ids


@pytest.fixture
def world(study_factory, reader_factory, case_factory):
    study = study_factory("paper", status="open")
    cases = [case_factory(study, source=source) for source in ("real", "pix2pix", "real", "stargan")]
    membership = reader_factory(study, username="alice")
    client = APIClient()
    client.force_authenticate(membership.user)
    return study, cases, membership, client


def vote(client, case, answer="real", slug="paper", **extra):
    return client.post(f"/api/studies/{slug}/votes/", {"case": case.public_id, "answer": answer, **extra},
                       format="json")


def test_a_vote_is_stored_with_its_position_in_the_readers_sequence(world):
    study, cases, membership, client = world
    response = vote(client, cases[2], "fake", confidence=4, time_ms=1234)
    assert response.status_code == 201
    stored = Vote.objects.get()
    assert (stored.answer, stored.confidence, stored.time_ms) == ("fake", 4, 1234)
    assert stored.position == sequence_case_ids(membership).index(cases[2].pk) + 1
    assert response.json()["position"] == stored.position


def test_a_vote_updates_the_readers_last_activity(world):
    study, cases, membership, client = world
    before = timezone.now()
    vote(client, cases[0])
    membership.refresh_from_db()
    assert membership.last_activity_at >= before


def test_the_same_vote_again_returns_the_stored_vote_and_stores_nothing_new(world):
    study, cases, membership, client = world
    first = vote(client, cases[0], "real", time_ms=900)
    again = vote(client, cases[0], "real", time_ms=5000)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Vote.objects.count() == 1


def test_a_different_answer_is_a_conflict_when_votes_are_final(world):
    study, cases, membership, client = world
    vote(client, cases[0], "real")
    response = vote(client, cases[0], "fake")
    assert response.status_code == 409
    body = response.json()
    assert "answer" in body["errors"] and body["vote"]["answer"] == "real"
    assert Vote.objects.get().answer == "real"


def test_a_different_answer_changes_the_vote_when_the_study_allows_it(world):
    study, cases, membership, client = world
    study.allow_vote_changes = True
    study.save()
    vote(client, cases[0], "real")
    response = vote(client, cases[0], "fake", confidence=2)
    assert response.status_code == 200
    assert Vote.objects.get().answer == "fake" and Vote.objects.get().confidence == 2


def test_a_vote_racing_its_own_double_click_returns_the_stored_vote(world):
    """The insert comes first and the unique constraint decides: the second click of a double click (here, a vote
    already stored by the first) gets the stored vote back, and the transaction stays usable afterwards."""
    study, cases, membership, client = world
    Vote.objects.create(membership=membership, case=cases[0], answer="real", position=1)
    outcome = votes.vote_cast(membership=membership, case_public_id=cases[0].public_id, answer="real")
    assert outcome.created is False and outcome.vote.answer == "real"
    assert Vote.objects.filter(membership=membership).count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"answer": "maybe"}, "answer"),
        ({"answer": ""}, "answer"),
        ({"confidence": 0}, "confidence"),
        ({"confidence": 6}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"time_ms": -1}, "time_ms"),
        ({"time_ms": 3_600_001}, "time_ms"),
        ({"time_ms": 10**12}, "time_ms"),
        ({"case": "no-such-case"}, "case"),
        ({"case": None}, "case"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(world, payload, field):
    study, cases, membership, client = world
    body = {"case": cases[0].public_id, "answer": "real", **payload}
    response = client.post("/api/studies/paper/votes/", body, format="json")
    assert 400 <= response.status_code < 500
    assert field in response.json()["errors"]
    assert response.json()["detail"]
    assert not Vote.objects.exists()


def test_a_case_of_another_study_is_refused_as_unknown(world, study_factory, case_factory):
    study, cases, membership, client = world
    foreign = case_factory(study_factory("other", status="open"))
    response = vote(client, foreign)
    assert response.status_code == 400 and "case" in response.json()["errors"]
    assert not Vote.objects.exists()


@pytest.mark.parametrize("status", ["draft", "paused", "closed"])
def test_a_vote_on_a_study_that_is_not_open_is_refused(world, status):
    study, cases, membership, client = world
    study.status = status
    study.save()
    response = vote(client, cases[0])
    assert response.status_code == 409 and "study" in response.json()["errors"]
    assert not Vote.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"real"', b""])
def test_a_malformed_body_is_a_400_json_error(world, raw):
    study, cases, membership, client = world
    response = client.post("/api/studies/paper/votes/", raw, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and body["errors"]
    assert not Vote.objects.exists()


def test_a_vote_for_a_study_the_reader_is_not_in_is_404(world, study_factory, case_factory):
    study, cases, membership, client = world
    other = study_factory("other", status="open")
    response = vote(client, case_factory(other), slug="other")
    assert response.status_code == 404
    assert not Vote.objects.exists()


def test_the_vote_the_api_returns_is_the_documented_vote_serializer_shape(world):
    """The reader API writes a vote with ``votes.vote_payload`` (no serializer on the hot path); the schema documents
    ``VoteSerializer``: both must give the same body, times included."""
    from readerstudy.reading.api import VoteSerializer

    study, cases, membership, client = world
    response = vote(client, cases[1], "fake", confidence=2, time_ms=777)
    stored = Vote.objects.select_related("case").get()
    assert response.json() == dict(VoteSerializer(stored).data) == votes.vote_payload(stored)
