"""Reasons for "fake" (cues from an admin-edited list, tallied per source and finding) and the exports for outside
statistics tools: the iMRMC input file and the long table for R."""
import csv
import io

import pytest
from rest_framework.test import APIClient

from readerstudy.reading import services
from readerstudy.reading.models import FakeCue, FakeReason
from readerstudy.results.mrmc_export import LONG_COLUMNS
from readerstudy.results.protocol_results import cue_tallies
from readerstudy.studies.models import Case
from tests.factories import create_cases_fast


@pytest.fixture
def study(study_factory, staff_user):
    study = study_factory("paper", status="open", ask_confidence=True)
    create_cases_fast(study, "effusion", "real", 2)
    create_cases_fast(study, "effusion", "pix2pix", 2)
    create_cases_fast(study, "cardiomegaly", "stargan", 2)
    services.settings_update(study, staff_user, {"ask_fake_reasons": True})
    return study


def reader(membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(membership.user)
    return client


def cue(study, label) -> int:
    return FakeCue.objects.get(study=study, label=label).pk


def vote(client, case, answer, **extra):
    return client.post("/api/studies/paper/votes/", {"case": case.public_id, "answer": answer, "confidence": 4,
                                                     **extra}, format="json")


def test_turning_reasons_on_gives_the_default_cue_list(study):
    assert list(study.fake_cues.values_list("label", flat=True)) == [
        "Rib pattern", "Lung texture", "Borders", "Heart shadow", "Artefacts", "Anatomy"]


def test_the_admin_edits_the_cue_list_and_it_is_audited(study, staff_api):
    cues = ["Rib pattern", "Blur", "Text marker"]
    response = staff_api.put("/api/studies/paper/cues/", {"cues": cues}, format="json")
    assert [item["label"] for item in response.json()["cues"]] == ["Rib pattern", "Blur", "Text marker"]
    assert staff_api.get("/api/studies/paper/audit/").json()[0]["field"] == "cues"
    assert staff_api.put("/api/studies/paper/cues/", {"cues": ["A", "A"]}, format="json").status_code == 400


def test_a_fake_answer_keeps_the_ticked_cues_and_note(study, reader_factory):
    membership = reader_factory(study)
    case = Case.objects.filter(source__slug="pix2pix").first()
    response = vote(reader(membership), case, "fake", cues=[cue(study, "Borders"), cue(study, "Anatomy")],
                    note="odd clavicle")
    assert response.status_code == 201
    reason = FakeReason.objects.get(vote__case=case)
    assert reason.cues == ["Borders", "Anatomy"] and reason.note == "odd clavicle"


def test_reasons_are_refused_for_a_real_answer_an_unknown_cue_or_a_study_that_does_not_ask(
        study, reader_factory, staff_user):
    client = reader(reader_factory(study))
    cases = list(Case.objects.order_by("pk"))
    assert vote(client, cases[0], "real", cues=[cue(study, "Borders")]).json()["errors"]["cues"]
    assert vote(client, cases[1], "fake", cues=[999_999]).status_code == 400
    services.settings_update(study, staff_user, {"ask_fake_reasons": False})
    response = vote(client, cases[2], "fake", cues=[cue(study, "Borders")])
    assert response.status_code == 400 and "does not ask" in response.json()["detail"]
    assert not FakeReason.objects.exists()


def test_cues_are_tallied_per_source_and_finding(study, reader_factory, staff_user, client):
    alice, bob = reader_factory(study), reader_factory(study)
    pix = list(Case.objects.filter(source__slug="pix2pix"))
    star = list(Case.objects.filter(source__slug="stargan"))
    real = list(Case.objects.filter(source__slug="real"))
    vote(reader(alice), pix[0], "fake", cues=[cue(study, "Borders"), cue(study, "Rib pattern")])
    vote(reader(bob), pix[0], "fake", cues=[cue(study, "Borders")])
    vote(reader(alice), star[0], "fake", cues=[cue(study, "Heart shadow")])
    vote(reader(alice), real[0], "fake")  # a Fake answer without reasons
    tallies = cue_tallies(study)
    borders, ribs, heart = (tallies["cues"].index(label) for label in ("Borders", "Rib pattern", "Heart shadow"))
    by_source = {row["source"]: row for row in tallies["by_source"]}
    assert by_source["Pix2Pix"]["counts"][borders] == 2 and by_source["Pix2Pix"]["counts"][ribs] == 1
    assert by_source["Pix2Pix"]["fake_answers"] == 2
    assert by_source["StarGAN"]["counts"][heart] == 1 and by_source["StarGAN"]["counts"][borders] == 0
    by_finding = {row["finding"]: row for row in tallies["by_finding"]}
    assert by_finding["Effusion"]["counts"][borders] == 2 and by_finding["Cardiomegaly"]["counts"][heart] == 1
    assert by_finding["Effusion"]["fake_answers"] == 3
    client.force_login(staff_user)
    assert 'id="cues-by-source"' in client.get("/studies/paper/results/").content.decode()


def test_the_imrmc_download_is_for_staff_only(study, reader_factory, staff_api):
    response = staff_api.get("/api/studies/paper/export.imrmc")
    assert response.status_code == 200 and "BEGIN DATA:" in b"".join(response.streaming_content).decode()
    assert reader(reader_factory(study)).get("/api/studies/paper/export.imrmc").status_code == 404


def test_the_long_table_has_one_row_per_vote_with_every_design_variable(study, reader_factory, staff_api):
    membership = reader_factory(study)
    client = reader(membership)
    body = client.get("/api/studies/paper/next/").json()
    client.post("/api/studies/paper/votes/", {"case": body["case"], "answer": "fake", "confidence": 3,
                                              "time_ms": 1234, "cues": [cue(study, "Borders")]}, format="json")
    text = b"".join(staff_api.get("/api/studies/paper/export-long.csv").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == LONG_COLUMNS and len(rows) == 1
    row = rows[0]
    case = Case.objects.get(public_id=body["case"])
    assert row["case"].lstrip("'") == case.public_id and row["order_seed"] == str(membership.order_seed)
    assert (row["answer"], row["called_fake"], row["confidence"], row["fake_score"], row["time_ms"]) == (
        "fake", "1", "3", "8", "1234")
    assert row["is_fake"] == ("0" if case.source.is_real else "1") and row["showing"] == "first"
    assert (row["exposure_ms"], row["exposure_mode"], row["position"], row["cues"]) == ("NA", "off", "1", "Borders")
