"""The practice block: images from a practice pool (never study cases) shown first, with the truth only when the
study turns practice feedback on, and practice answers kept apart from every result."""
import pytest
from rest_framework.test import APIClient

from readerstudy.reading import lifecycle, services
from readerstudy.reading.models import PracticeVote, Vote
from readerstudy.results.services import build_statistics, build_table1
from readerstudy.studies.models import Source


@pytest.fixture
def study(study_factory, case_factory, staff_user, make_png):
    study = study_factory("paper", status="draft")
    for source in ("real", "pix2pix", "real", "stargan"):
        case_factory(study, finding="effusion", source=source)
    for index, source in enumerate(("real", "pix2pix", "stargan", "real")):
        services.practice_image_add(study, staff_user, png_bytes=make_png(seed=500 + index),
                                    source=Source.objects.get(slug=source))
    services.settings_update(study, staff_user, {"practice_count": 3})
    lifecycle.study_transition(study, staff_user, "open")
    return study


def reader(membership) -> APIClient:
    client = APIClient()
    client.force_login(membership.user)
    return client


def answer_next(client, answer="real"):
    body = client.get("/api/studies/paper/next/").json()
    vote = client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": answer}, format="json")
    return body, vote


def test_practice_images_come_first_under_a_banner_then_the_study(study, reader_factory):
    client = reader(reader_factory(study))
    bodies = [answer_next(client)[0] for _ in range(4)]
    assert [body.get("practice") for body in bodies] == [True, True, True, None]
    assert [(body["position"], body["total"]) for body in bodies] == [(1, 3), (2, 3), (3, 3), (1, 4)]
    study_case_ids = set(study.cases.values_list("public_id", flat=True))
    assert not {body["case"] for body in bodies[:3]} & study_case_ids
    assert bodies[3]["case"] in study_case_ids


def test_practice_gives_no_feedback_unless_the_admin_turns_it_on(study, reader_factory, staff_user):
    _, vote = answer_next(reader(reader_factory(study)))
    assert vote.status_code == 201 and "truth" not in vote.json() and "correct" not in vote.json()
    services.settings_update(study, staff_user, {"practice_feedback": True})
    _, vote = answer_next(reader(reader_factory(study)))
    assert vote.json()["truth"] in ("real", "fake") and isinstance(vote.json()["correct"], bool)


def test_feedback_is_for_practice_only(study, reader_factory, staff_user):
    services.settings_update(study, staff_user, {"practice_feedback": True})
    client = reader(reader_factory(study))
    for _ in range(3):
        answer_next(client)
    body, vote = answer_next(client)
    assert "practice" not in body and "truth" not in vote.json() and "correct" not in vote.json()


def test_practice_answers_stay_out_of_table_1_statistics_and_export(study, reader_factory, staff_api):
    membership = reader_factory(study)
    client = reader(membership)
    for _ in range(3):
        answer_next(client, "fake")
    assert PracticeVote.objects.filter(membership=membership).count() == 3
    assert not Vote.objects.exists()
    table = build_table1(study)
    assert all(count == 0 for row in table.votes for cell in row for count in cell)
    assert build_statistics(study)["n_votes"] == 0
    assert len(b"".join(staff_api.get("/api/studies/paper/export.csv").streaming_content).splitlines()) == 1
    assert b"".join(staff_api.get("/api/studies/paper/export-long.csv").streaming_content).count(b"\n") == 1


def test_practice_progress_is_not_study_progress(study, reader_factory):
    client = reader(reader_factory(study))
    answer_next(client)
    assert client.get("/api/studies/paper/progress/").json() == {"answered": 0, "total": 4, "done": False}


def test_a_practice_image_is_only_served_to_its_reader(study, reader_factory):
    alice, bob = reader_factory(study), reader_factory(study)
    body = reader(alice).get("/api/studies/paper/next/").json()
    assert reader(alice).get(body["image_url"]).status_code == 200
    assert reader(bob).get(body["image_url"]).status_code == 404


def test_a_study_image_cannot_join_the_practice_pool(study, staff_user):
    case = study.cases.first()
    with case.image.open("rb") as stored:
        png = stored.read()
    with pytest.raises(services.ProtocolError, match="must not overlap"):
        services.practice_image_add(study, staff_user, png_bytes=png, source=case.source)


def test_the_practice_pool_is_frozen_after_the_first_vote(study, reader_factory, staff_user, make_png):
    answer_next(reader(reader_factory(study)))
    with pytest.raises(services.SettingsFrozen):
        services.practice_image_add(study, staff_user, png_bytes=make_png(seed=9999),
                                    source=Source.objects.get(slug="real"))


def test_staff_upload_a_practice_image_through_the_api(study_factory, staff_api, make_png):
    study_factory("other", status="draft")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("p.png", make_png(seed=4242), content_type="image/png")
    response = staff_api.post("/api/studies/other/practice-images/", {"image": upload, "source": "stargan"},
                          format="multipart")
    assert response.status_code == 201 and response.json()["source"] == "StarGAN"
    bad = SimpleUploadedFile("p.png", b"not a png", content_type="image/png")
    response = staff_api.post("/api/studies/other/practice-images/", {"image": bad, "source": "real"},
                              format="multipart")
    assert response.status_code == 400 and "image" in response.json()["errors"]
