"""Reading a study: each reader's own stable order, the next unread case, progress, going back, and resuming where
the reader stopped after logging out and in again."""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from readerstudy.reading.sequence import sequence_from_seed
from readerstudy.studies.models import Membership
from tests.factories import sequence_case_ids


@pytest.fixture
def study(study_factory, case_factory):
    study = study_factory("paper", status="open")
    for index in range(12):
        case_factory(study, source="real" if index % 2 else "pix2pix")
    return study


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def walk(client, steps: int, slug: str = "paper") -> list[str]:
    """Answer ``steps`` cases in the order the API hands them out; returns their public ids."""
    seen = []
    for _ in range(steps):
        case = client.get(f"/api/studies/{slug}/next/").json()["case"]
        assert client.post(f"/api/studies/{slug}/votes/", {"case": case, "answer": "real"}, format="json"
                           ).status_code == 201
        seen.append(case)
    return seen


def test_two_readers_get_different_orders(study, reader_factory):
    first, second = reader_factory(study), reader_factory(study)
    assert first.order_seed != second.order_seed
    assert sequence_case_ids(first) != sequence_case_ids(second)
    assert sorted(sequence_case_ids(first)) == sorted(sequence_case_ids(second))


def test_a_readers_order_is_stable_across_sessions(study, reader_factory):
    membership = reader_factory(study)
    order = sequence_case_ids(membership)
    assert sequence_case_ids(Membership.objects.get(pk=membership.pk)) == order
    assert sequence_from_seed(list(reversed(order)), membership.order_seed) == order


def test_next_hands_out_the_cases_in_the_readers_own_order(study, reader_factory):
    membership = reader_factory(study)
    expected = [study.cases.get(pk=pk).public_id for pk in sequence_case_ids(membership)]
    assert walk(api_for(membership.user), 12) == expected


def test_next_reports_position_total_and_an_image_to_prefetch(study, reader_factory):
    membership = reader_factory(study)
    client = api_for(membership.user)
    walk(client, 3)
    body = client.get("/api/studies/paper/next/").json()
    assert (body["position"], body["total"], body["answered"]) == (4, 12, 3)
    assert "finding" not in body
    following = study.cases.get(pk=sequence_case_ids(membership)[4])
    client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": "real"}, format="json")
    shown_next = client.get("/api/studies/paper/next/").json()
    assert shown_next["case"] == following.public_id
    assert shown_next["image_url"] == body["prefetch_image_url"]  # the prefetched copy is the one shown


def test_next_names_the_finding_only_when_the_study_shows_it(study, reader_factory):
    study.show_finding = True
    study.save()
    membership = reader_factory(study)
    body = api_for(membership.user).get("/api/studies/paper/next/").json()
    assert body["finding"] == study.cases.get(public_id=body["case"]).finding.name


def test_next_is_204_when_every_case_is_answered(study, reader_factory):
    client = api_for(reader_factory(study).user)
    walk(client, 12)
    assert client.get("/api/studies/paper/next/").status_code == 204
    assert client.get("/api/studies/paper/progress/").json() == {"answered": 12, "total": 12, "done": True}


def test_next_is_the_first_unread_case_even_after_skipping_ahead(study, reader_factory):
    membership = reader_factory(study)
    client = api_for(membership.user)
    sequence = sequence_case_ids(membership)
    later = study.cases.get(pk=sequence[5])
    client.post("/api/studies/paper/votes/", {"case": later.public_id, "answer": "fake"}, format="json")
    assert client.get("/api/studies/paper/next/").json()["case"] == study.cases.get(pk=sequence[0]).public_id


def test_progress_counts_only_the_readers_own_votes(study, reader_factory):
    alice, bob = reader_factory(study), reader_factory(study)
    walk(api_for(alice.user), 5)
    walk(api_for(bob.user), 2)
    assert api_for(bob.user).get("/api/studies/paper/progress/").json() == {"answered": 2, "total": 12, "done": False}


def test_going_back_shows_the_earlier_case_with_the_readers_vote(study, reader_factory):
    study.allow_vote_changes = True
    study.save()
    membership = reader_factory(study)
    client = api_for(membership.user)
    seen = walk(client, 2)
    body = client.get("/api/studies/paper/sequence/1/").json()
    assert body["case"] == seen[0] and body["vote"] == {"answer": "real", "confidence": None}
    assert client.get("/api/studies/paper/sequence/13/").status_code == 404


def test_after_logging_out_and_in_the_reader_resumes_at_the_first_unread_case(study, reader_factory):
    membership = reader_factory(study, username="carol", password="carol-pass-123")
    browser = Client()
    assert browser.post("/accounts/login/", {"username": "carol", "password": "carol-pass-123",
                                             "next": "/resume/"}).status_code == 302
    seen = []
    for _ in range(4):
        case = browser.get("/api/studies/paper/next/").json()["case"]
        browser.post("/api/studies/paper/votes/", {"case": case, "answer": "fake"}, content_type="application/json")
        seen.append(case)
    browser.post("/accounts/logout/")
    assert browser.get("/api/studies/paper/next/").status_code in (401, 403)

    response = browser.post("/accounts/login/", {"username": "carol", "password": "carol-pass-123",
                                                 "next": "/resume/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/studies/paper/read/"
    resumed = browser.get("/api/studies/paper/next/").json()
    expected = study.cases.get(pk=sequence_case_ids(membership)[4])
    assert (resumed["case"], resumed["position"]) == (expected.public_id, 5)
    assert resumed["case"] not in seen


def test_the_reading_page_sends_a_finished_reader_to_the_finish_page(study, reader_factory):
    membership = reader_factory(study, username="dave", password="dave-pass-123")
    walk(api_for(membership.user), 12)
    browser = Client()
    browser.force_login(membership.user)
    response = browser.get("/studies/paper/read/")
    assert response.status_code == 302 and response.url == "/studies/paper/finished/"
    assert b"All done" in browser.get("/studies/paper/finished/").content


@pytest.mark.parametrize(("status", "says"), [
    ("closed", "You read <strong>3 of 12</strong> images of <strong>Paper</strong> before its administrator closed it"),
    ("paused", "You have read <strong>3 of 12</strong> images"),
])
def test_a_reader_stopped_early_is_told_the_true_counts_and_why_reading_ended(study, reader_factory, status, says):
    membership = reader_factory(study, username="erin")
    walk(api_for(membership.user), 3)
    study.status, study.name = status, "Paper"
    study.save()
    browser = Client()
    browser.force_login(membership.user)
    page = " ".join(browser.get("/studies/paper/finished/").content.decode().split())
    assert says in page and f'data-reason="{status}"' in page
    assert "All done" not in page and "read all" not in page


def test_the_finished_page_links_to_the_readers_score_only_once_the_study_is_closed_and_shows_it(study,
                                                                                                 reader_factory):
    membership = reader_factory(study, username="fay")
    walk(api_for(membership.user), 12)
    browser = Client()
    browser.force_login(membership.user)
    study.show_own_score_when_closed = True
    study.save()
    assert 'id="my-score-link"' not in browser.get("/studies/paper/finished/").content.decode()  # still open
    study.status = "closed"
    study.save()
    assert 'id="my-score-link"' in browser.get("/studies/paper/finished/").content.decode()
    assert "/studies/paper/my-score/" in browser.get("/").content.decode()


def test_a_study_that_hides_progress_does_not_send_it(study, reader_factory):
    study.show_progress = False
    study.save()
    client = api_for(reader_factory(study).user)
    walk(client, 2)
    body = client.get("/api/studies/paper/next/").json()
    assert not {"position", "total", "answered"} & set(body)
    assert client.get("/api/studies/paper/progress/").json() == {"done": False}
