"""Repeated images: shown again later, unannounced and indistinguishable through the reader's API; answered into their
own table so Table 1 and the CSV keep counting each case once; each reader's intra-reader agreement (kappa and
percent agreement) reported from the pairs."""
import pytest
from rest_framework.test import APIClient

from readerstudy.reading.models import RepeatVote, SequenceSlot, StudyProtocol, Vote
from readerstudy.results.protocol_results import intra_reader_agreement
from readerstudy.results.services import build_table1, results_page_context
from tests.factories import cast_votes_fast, create_cases_fast


@pytest.fixture
def study(study_factory, case_factory):
    study = study_factory("paper", status="open")
    for index in range(8):
        case_factory(study, finding="effusion", source="real" if index % 2 else "pix2pix")
    StudyProtocol.objects.create(study=study, repeat_percent=25)
    return study


def reader_client(membership) -> APIClient:
    client = APIClient()
    client.force_login(membership.user)  # a session, as the reading page has (images are plain Django views)
    return client


def read_all(client, answers):
    """Answer every image the API hands out; ``answers(body)`` picks the answer. Returns the bodies seen."""
    seen = []
    while True:
        response = client.get("/api/studies/paper/next/")
        if response.status_code == 204:
            return seen
        body = response.json()
        vote = client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": answers(body)},
                           format="json")
        assert vote.status_code == 201, vote.json()
        seen.append((body, vote.json()))


def test_a_reader_sees_every_case_and_the_repeats_without_being_told(study, reader_factory):
    membership = reader_factory(study)
    seen = read_all(reader_client(membership), lambda body: "real")
    assert len(seen) == 10 and seen[-1][0]["total"] == 10
    assert len({body["case"] for body, _ in seen}) == 10  # a repeat comes under an id of its own
    assert {tuple(sorted(body)) for body, _ in seen} == {tuple(sorted(seen[0][0]))}
    assert {tuple(sorted(vote)) for _, vote in seen} == {tuple(sorted(seen[0][1]))}
    assert Vote.objects.filter(membership=membership).count() == 8
    assert RepeatVote.objects.filter(membership=membership).count() == 2


def test_a_repeat_image_is_served_like_any_other_image(study, reader_factory):
    """Same pixels and header set as its first showing, under a URL of its own."""
    membership = reader_factory(study)
    client = reader_client(membership)
    served = {}

    def fetch_then_answer(body):
        served[body["case"]] = (body["image_url"], client.get(body["image_url"]))
        return "real"

    read_all(client, fetch_then_answer)
    repeat = SequenceSlot.objects.filter(membership=membership, is_repeat=True).first()
    (first_url, first), (again_url, again) = served[repeat.case.public_id], served[repeat.public_id]
    assert again.status_code == 200 and again.content == first.content and again_url != first_url
    assert sorted(again.headers) == sorted(first.headers)


def test_another_reader_cannot_use_a_readers_repeat_ids(study, reader_factory):
    alice, bob = reader_factory(study), reader_factory(study)
    read_all(reader_client(alice), lambda body: "real")
    repeat = SequenceSlot.objects.filter(membership=alice, is_repeat=True).first()
    bob_client = reader_client(bob)
    assert bob_client.get(f"/i/{repeat.showings.get().token}.png").status_code == 404
    response = bob_client.post("/api/studies/paper/votes/", {"case": repeat.public_id, "answer": "real"},
                               format="json")
    assert response.status_code == 400 and "case" in response.json()["errors"]


def test_repeats_are_left_out_of_table_1_and_the_csv(study, reader_factory, staff_api):
    membership = reader_factory(study)
    read_all(reader_client(membership), lambda body: "real")
    table = build_table1(study)
    assert sum(sum(cell) for row in table.votes[:-1] for cell in row) == 8
    lines = b"".join(staff_api.get("/api/studies/paper/export.csv").streaming_content).decode().splitlines()
    assert len(lines) == 1 + 8


def test_a_reader_who_answers_fake_to_anything_seen_before_never_spots_a_repeat(study, reader_factory):
    membership = reader_factory(study)
    seen_ids = set()

    def suspicious(body):
        answer = "fake" if body["case"] in seen_ids or body["image_url"] in seen_ids else "real"
        seen_ids.update((body["case"], body["image_url"]))
        return answer

    read_all(reader_client(membership), suspicious)
    assert set(RepeatVote.objects.filter(membership=membership).values_list("answer", flat=True)) == {"real"}
    assert intra_reader_agreement(study)[0]["pairs"] == 2


def test_intra_reader_kappa_and_agreement_on_hand_made_pairs(study_factory, reader_factory):
    """Pairs (first, repeat): 4 real/real, 1 real/fake, 2 fake/real, 3 fake/fake.
    Observed agreement 7/10; first real 5/10, repeat real 6/10; chance 0.5*0.6 + 0.5*0.4 = 0.5; kappa 0.4."""
    study = study_factory("hand", status="open")
    cases = create_cases_fast(study, "effusion", "real", 5) + create_cases_fast(study, "effusion", "pix2pix", 5)
    membership = reader_factory(study)
    pairs = [("real", "real")] * 4 + [("real", "fake")] + [("fake", "real")] * 2 + [("fake", "fake")] * 3
    cast_votes_fast(membership, [(case, first) for case, (first, _) in zip(cases, pairs, strict=True)])
    for position, (case, (_, repeat)) in enumerate(zip(cases, pairs, strict=True), start=11):
        slot = SequenceSlot(membership=membership, phase="study", position=position, case=case, is_repeat=True)
        slot.give_own_ids()
        slot.save()
        RepeatVote.objects.create(slot=slot, membership=membership, case=case, answer=repeat)
    row = intra_reader_agreement(study)[0]
    assert row["pairs"] == 10 and row["percent_agreement"] == 70.0
    assert row["kappa"] == pytest.approx(0.4)
    assert row["table"] == {"real_real": 4, "real_fake": 1, "fake_real": 2, "fake_fake": 3}


def test_the_results_page_shows_intra_reader_agreement(study, reader_factory, staff_user, client):
    read_all(reader_client(reader_factory(study)), lambda body: "real")
    client.force_login(staff_user)
    html = client.get("/studies/paper/results/").content.decode()
    assert 'id="intra-reader"' in html and "100.0" in html
    assert results_page_context(study)["intra_reader"][0]["pairs"] == 2


def test_going_back_to_a_repeat_shows_the_repeats_own_answer(study, reader_factory):
    study.allow_vote_changes = True
    study.save()
    membership = reader_factory(study)
    client = reader_client(membership)
    read_all(client, lambda body: "real")
    repeat = SequenceSlot.objects.filter(membership=membership, is_repeat=True).order_by("position").first()
    body = client.get(f"/api/studies/paper/sequence/{repeat.position}/").json()
    assert body["case"] == repeat.public_id and body["vote"] == {"answer": "real", "confidence": None}
    changed = client.post("/api/studies/paper/votes/", {"case": repeat.public_id, "answer": "fake"}, format="json")
    assert changed.status_code == 200 and RepeatVote.objects.get(slot=repeat).answer == "fake"
    assert Vote.objects.get(membership=membership, case=repeat.case).answer == "real"
