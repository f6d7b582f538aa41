"""Study settings and lifecycle: off by default, unsatisfiable settings refused with a clear message, result-shaping
settings frozen once the first vote is cast (and the page says why), draft -> open <-> paused -> closed, and an audit
trail of who changed what when."""
import pytest
from rest_framework.test import APIClient

from readerstudy.reading import lifecycle, services
from readerstudy.reading.models import SequenceSlot, StudyProtocol
from readerstudy.studies.models import AuditEntry, Study
from tests.factories import create_cases_fast


@pytest.fixture
def study(study_factory):
    study = study_factory("paper", status="draft")
    create_cases_fast(study, "effusion", "real", 6)
    create_cases_fast(study, "effusion", "pix2pix", 6)
    return study


def patch(client, body, slug="paper"):
    return client.patch(f"/api/studies/{slug}/protocol/", body, format="json")


def test_every_protocol_setting_is_off_by_default(study, staff_api):
    body = staff_api.get("/api/studies/paper/protocol/").json()
    assert body["block_size"] == 0 and body["repeat_percent"] == 0 and body["practice_count"] == 0
    assert body["exposure_mode"] == "off" and body["ask_fake_reasons"] is False
    assert body["frozen"] is None
    assert not StudyProtocol.objects.exists()  # reading the settings writes nothing


@pytest.mark.parametrize("body, field, words", [
    ({"repeat_percent": 120}, "repeat_percent", "more repeats than the study has cases"),
    ({"block_size": 13}, "block_size", "larger than the study (12 cases)"),
    ({"exposure_mode": "fixed", "exposure_ms": 40}, "exposure_ms", "outside 50 ms to 60,000 ms"),
    ({"exposure_mode": "fixed", "exposure_ms": 60_001}, "exposure_ms", "outside 50 ms to 60,000 ms"),
    ({"exposure_mode": "adaptive"}, "exposure_ms", "needs an exposure"),
    ({"practice_count": 3}, "practice_count", "practice pool has 0"),
    ({"staircase_factor": "1.00"}, "staircase_factor", "above 1"),
])
def test_settings_that_cannot_be_satisfied_are_refused_naming_the_field(study, staff_api, body, field, words):
    response = patch(staff_api, body)
    assert response.status_code == 400
    assert words in response.json()["errors"][field][0]
    assert not StudyProtocol.objects.exists() and not AuditEntry.objects.exists()


def test_a_practice_pool_that_overlaps_the_study_cases_is_refused(study, staff_user, case_factory, make_png):
    png = make_png(seed=99)
    case_factory(study, source="real", png=png)
    from readerstudy.studies.models import Source

    with pytest.raises(services.ProtocolError, match="must not overlap the study cases"):
        services.practice_image_add(study, staff_user, png_bytes=png, source=Source.objects.get(slug="real"))


def test_an_exposure_of_a_minute_or_50_ms_is_accepted(study, staff_api):
    assert patch(staff_api, {"exposure_mode": "fixed", "exposure_ms": 50}).status_code == 200
    assert patch(staff_api, {"exposure_ms": 60_000}).json()["exposure_ms"] == 60_000


def test_every_change_is_audited_with_who_and_what(study, staff_api, staff_user):
    patch(staff_api, {"block_size": 4, "ask_confidence": True})
    patch(staff_api, {"block_size": 6})
    trail = staff_api.get("/api/studies/paper/audit/").json()
    assert [(entry["actor"], entry["field"], entry["old"], entry["new"]) for entry in trail] == [
        ("admin", "block_size", "4", "6"), ("admin", "ask_confidence", "off", "on"), ("admin", "block_size", "0", "4"),
    ]
    assert Study.objects.get(pk=study.pk).ask_confidence is True


def test_saving_the_same_values_again_writes_no_audit_entry(study, staff_api):
    patch(staff_api, {"block_size": 4})
    patch(staff_api, {"block_size": 4})
    assert AuditEntry.objects.count() == 1


def opened_with_a_vote(study, staff_user, reader_factory):
    lifecycle.study_transition(study, staff_user, "open")
    membership = reader_factory(study)
    client = APIClient()
    client.force_authenticate(membership.user)
    case = client.get("/api/studies/paper/next/").json()["case"]
    assert client.post("/api/studies/paper/votes/", {"case": case, "answer": "real"}, format="json").status_code == 201
    return membership


@pytest.mark.parametrize("body", [{"block_size": 4}, {"repeat_percent": 5}, {"exposure_mode": "fixed",
                                                                             "exposure_ms": 500},
                                  {"ask_confidence": True}])
def test_result_shaping_settings_are_frozen_after_the_first_vote(study, staff_api, staff_user, reader_factory, body):
    opened_with_a_vote(study, staff_user, reader_factory)
    response = patch(staff_api, body)
    assert response.status_code == 409
    field = next(iter(body))
    assert "frozen since the first vote" in response.json()["errors"][field][0]


def test_settings_that_do_not_shape_results_still_change_after_the_first_vote(study, staff_api, staff_user,
                                                                               reader_factory):
    opened_with_a_vote(study, staff_user, reader_factory)
    assert patch(staff_api, {"show_progress": False, "ask_fake_reasons": True}).status_code == 200


def test_the_settings_page_says_why_settings_are_frozen(study, staff_user, reader_factory, client):
    opened_with_a_vote(study, staff_user, reader_factory)
    client.force_login(staff_user)
    html = client.get("/studies/paper/protocol/").content.decode()
    assert 'id="frozen-notice"' in html and "The first vote was cast on" in html
    response = client.post("/studies/paper/protocol/", {
        "block_size": 5, "repeat_percent": 0, "practice_count": 0, "exposure_mode": "off", "staircase_down": 2,
        "staircase_factor": "1.25", "show_progress": "on"})
    assert response.status_code == 200 and "frozen since the first vote" in response.content.decode()


def test_changing_the_sequence_settings_before_any_vote_re_derives_the_sequences(study, staff_user, reader_factory,
                                                                                 staff_api):
    lifecycle.study_transition(study, staff_user, "open")
    membership = reader_factory(study)
    services.freeze_sequence(membership)
    assert SequenceSlot.objects.filter(membership=membership, block__isnull=False).count() == 0
    assert patch(staff_api, {"block_size": 4}).status_code == 200
    services.freeze_sequence(membership)
    assert SequenceSlot.objects.filter(membership=membership, block__isnull=False).count() == 12


def test_the_lifecycle_runs_draft_open_paused_open_closed(study, staff_api):
    steps = ["open", "paused", "open", "closed"]
    assert [staff_api.post("/api/studies/paper/status/", {"status": s}, format="json").json()["status"]
            for s in steps] == steps
    trail = [(entry["old"], entry["new"]) for entry in staff_api.get("/api/studies/paper/audit/").json()]
    assert trail == [("open", "closed"), ("paused", "open"), ("open", "paused"), ("draft", "open")]  # newest first


@pytest.mark.parametrize("start, to", [("draft", "paused"), ("draft", "closed"), ("closed", "open"),
                                       ("closed", "paused")])
def test_a_transition_outside_the_lifecycle_is_refused(study, staff_api, start, to):
    Study.objects.filter(pk=study.pk).update(status=start)
    response = staff_api.post("/api/studies/paper/status/", {"status": to}, format="json")
    assert response.status_code == 409 and "status" in response.json()["errors"]


def test_opening_refuses_a_block_larger_than_the_study(study, staff_api):
    StudyProtocol.objects.create(study=study, block_size=50)
    response = staff_api.post("/api/studies/paper/status/", {"status": "open"}, format="json")
    assert response.status_code == 409 and "larger than the study" in response.json()["errors"]["block_size"][0]


def test_a_paused_study_refuses_reading_and_votes_and_keeps_the_answers(study, staff_user, reader_factory, staff_api,
                                                                        client):
    membership = opened_with_a_vote(study, staff_user, reader_factory)
    staff_api.post("/api/studies/paper/status/", {"status": "paused"}, format="json")
    reader = APIClient()
    reader.force_authenticate(membership.user)
    assert reader.get("/api/studies/paper/next/").status_code == 409
    case = study.cases.first().public_id
    assert reader.post("/api/studies/paper/votes/", {"case": case, "answer": "fake"}, format="json").status_code == 409
    client.force_login(membership.user)
    assert "paused" in client.get("/studies/paper/read/").content.decode()
    staff_api.post("/api/studies/paper/status/", {"status": "open"}, format="json")
    assert reader.get("/api/studies/paper/next/").json()["answered"] == 1


def test_only_staff_change_settings(study, reader_factory):
    client = APIClient()
    client.force_authenticate(reader_factory(study).user)
    assert patch(client, {"block_size": 2}).status_code == 404
    assert client.post("/api/studies/paper/status/", {"status": "open"}, format="json").status_code == 404
