"""The pre-registered analysis plan (issue 26, point 1): set in the draft through the API or the page, frozen by
opening, audited; bad input refused with nothing stored; the results answer it per generator."""
from __future__ import annotations

import pytest
from django.utils import timezone

from readerstudy.results.models import AnalysisPlan
from readerstudy.results.services import build_statistics
from readerstudy.studies.models import AuditEntry, Study
from tests.factories import create_study
from tests.test_results_mrmc import build_study

URL = "/api/studies/{}/analysis-plan/"
GOOD = {"endpoint": "called_real", "test": "non_inferiority", "margin": 0.10, "alpha": 0.05, "primary": ["StarGAN"]}


@pytest.fixture
def draft(db, staff_user):
    return create_study("planned", ask_confidence=False)


def put(client, user, slug: str, body: dict):
    client.force_login(user)
    return client.put(URL.format(slug), body, content_type="application/json")


def test_a_draft_study_registers_its_plan_through_the_api_and_the_change_is_audited(client, staff_user, draft):
    response = put(client, staff_user, "planned", GOOD)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["plan"]["margin"] == 0.10 and body["plan"]["primary"] == ["StarGAN"] and body["frozen"] is False
    assert body["proposal"]["rows"] and "simulator" in body["proposal"]["pilot"]
    audited = {entry.field: entry.new_value for entry in AuditEntry.objects.filter(study=draft,
                                                                                    action="analysis_plan")}
    assert audited == {"endpoint": "called_real", "test": "non_inferiority", "margin": "0.1", "alpha": "0.05",
                       "primary": "StarGAN"}
    assert client.get(URL.format("planned")).json()["plan"]["endpoint"] == "called_real"


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"margin": 0.0}, "margin", "strictly between 0 and 1"),
    ({"margin": 1.0}, "margin", "strictly between 0 and 1"),
    ({"margin": -0.2}, "margin", "strictly between 0 and 1"),
    ({"alpha": 0.5}, "alpha", "strictly between 0 and 0.5"),
    ({"endpoint": "auc"}, "endpoint", "does not ask for them"),
    ({"primary": ["Real"]}, "primary", "Not a generator of this study: Real"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_is_stored(client, staff_user, draft, change, field, words):
    response = put(client, staff_user, "planned", {**GOOD, **change})
    assert response.status_code == 400
    assert words in response.json()["errors"][field][0]
    assert not AnalysisPlan.objects.exists() and not AuditEntry.objects.filter(action="analysis_plan").exists()


def test_opening_freezes_the_plan_a_change_is_refused_and_nothing_changes(client, staff_user, draft):
    assert put(client, staff_user, "planned", GOOD).status_code == 200
    Study.objects.filter(pk=draft.pk).update(status="open", opened_at=timezone.now())
    response = put(client, staff_user, "planned", {**GOOD, "margin": 0.3})
    assert response.status_code == 409
    assert "frozen when the study opened" in response.json()["detail"]
    assert AnalysisPlan.objects.get().margin == 0.10
    assert AuditEntry.objects.filter(action="analysis_plan", field="margin").count() == 1
    page = client.get("/studies/planned/results/plan/").content.decode()
    assert 'id="plan-frozen"' in page and 'id="plan-form"' not in page
    response = client.post("/studies/planned/results/plan/", {**GOOD, "margin": "0.3"})
    assert response.status_code == 409 and AnalysisPlan.objects.get().margin == 0.10


def test_the_page_registers_the_plan_and_proposes_readers_by_cases(client, staff_user, draft):
    client.force_login(staff_user)
    page = client.get("/studies/planned/results/plan/").content.decode()
    assert 'id="plan-form"' in page and 'id="proposal"' in page
    response = client.post("/studies/planned/results/plan/", {**GOOD, "margin": "0.15", "primary": []})
    assert response.status_code == 302
    assert AnalysisPlan.objects.get().margin == 0.15
    response = client.post("/studies/planned/results/plan/", {**GOOD, "margin": "1.5"})
    assert response.status_code == 400 and "strictly between 0 and 1" in response.content.decode()
    assert AnalysisPlan.objects.get().margin == 0.15


def test_the_proposal_for_an_auc_plan_names_its_simulated_pilot_at_auc_one_half(client, staff_user, db):
    create_study("rated", ask_confidence=True)
    response = put(client, staff_user, "rated", {**GOOD, "endpoint": "auc"})
    assert response.status_code == 200
    proposal = response.json()["proposal"]
    assert "population AUC against the real images is 0.5" in proposal["pilot"]
    assert "AUC at most 0.60" in proposal["note"]
    cases = [row["cases"] for row in proposal["rows"] if row["cases"] is not None]
    assert cases and cases == sorted(cases, reverse=True)  # more readers, fewer cases
    # equivalence needs both one-sided tests to pass: more cases for the same readers
    response = put(client, staff_user, "rated", {**GOOD, "endpoint": "auc", "test": "equivalence"})
    both = {row["readers"]: row["cases"] for row in response.json()["proposal"]["rows"]}
    one = {row["readers"]: row["cases"] for row in proposal["rows"]}
    assert all(both[readers] is None or both[readers] > one[readers] for readers in one if one[readers])


def test_the_results_answer_the_plan_per_generator(db, staff_user):
    study = build_study(readers=4, slug="answered")
    Study.objects.filter(pk=study.pk).update(status="draft")
    from readerstudy.results.analysis_plan import plan_set

    plan_set(study, staff_user, endpoint="called_real", test="non_inferiority", margin=0.10, alpha=0.05)
    Study.objects.filter(pk=study.pk).update(status="open", opened_at=timezone.now())
    equivalence = build_statistics(study)["equivalence"]
    assert equivalence["analysis"] == "RRRC"
    verdicts = {row["generator"]: row for row in equivalence["verdicts"]}
    assert set(verdicts) == {"StarGAN", "Pix2Pix", "Pix2Pix-N"}
    assert verdicts["StarGAN"]["outcome"] == "fails"  # called real 10% of the time against 85% for real images
    assert equivalence["deviation"] == ""
