"""Excluding a case: only while the study is a draft, with a reason, audited; an excluded case never reaches a reader
(sequence, API, image, vote) and no result counts it, and the exports list it."""
from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from readerstudy.gallery.services import ExclusionRefused, case_exclude, case_include
from readerstudy.reading.lifecycle import study_transition
from readerstudy.reading.models import SequenceSlot
from readerstudy.reading.services import TransitionRefused
from readerstudy.results import mrmc_export, services
from readerstudy.studies.models import AuditEntry, Case, Study
from tests import factories
from tests.factories import LOGIN, access_outcome


@pytest.fixture
def draft(study_factory, case_factory):
    study = study_factory("paper", status="draft")
    for finding in ("effusion", "pneumonia"):
        for source in ("real", "pix2pix"):
            case_factory(study, finding=finding, source=source)
    return study


def bad_case(study) -> Case:
    return study.cases.get(finding__slug="effusion", source__slug="pix2pix")


def test_an_admin_excludes_a_case_of_a_draft_with_a_reason_and_the_audit_trail_says_so(draft, staff_user):
    case = case_exclude(case=bad_case(draft), actor=staff_user, reason="  box   misplaced ")
    case.refresh_from_db()
    assert (case.is_excluded, case.exclusion_reason, case.excluded_by) == (True, "box misplaced", staff_user)
    entry = AuditEntry.objects.get(study=draft)
    assert (entry.action, entry.field, entry.new_value, entry.actor) == (
        "case excluded", case.public_id, "box misplaced", staff_user)


def test_an_exclusion_without_a_reason_is_refused_and_nothing_is_stored(draft, staff_user):
    with pytest.raises(ExclusionRefused, match="reason"):
        case_exclude(case=bad_case(draft), actor=staff_user, reason="   ")
    assert (Case.objects.excluded().count(), AuditEntry.objects.count()) == (0, 0)


def test_the_database_refuses_an_exclusion_without_a_reason(draft):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=bad_case(draft).pk).update(excluded_at=timezone.now())


@pytest.mark.parametrize("status", ["open", "paused", "closed"])
def test_a_case_cannot_be_excluded_or_included_once_the_study_left_draft(draft, staff_user, status):
    case = case_exclude(case=bad_case(draft), actor=staff_user, reason="blank")
    other = draft.cases.exclude(pk=case.pk).first()
    Study.objects.filter(pk=draft.pk).update(status=status)
    with pytest.raises(ExclusionRefused, match="only while the study is a draft"):
        case_exclude(case=other, actor=staff_user, reason="too late")
    with pytest.raises(ExclusionRefused, match="only while the study is a draft"):
        case_include(case=case, actor=staff_user)
    assert list(Case.objects.excluded().values_list("pk", flat=True)) == [case.pk]
    assert AuditEntry.objects.count() == 1


def test_an_exclusion_is_taken_back_audited(draft, staff_user):
    case = case_exclude(case=bad_case(draft), actor=staff_user, reason="blank")
    case = case_include(case=case, actor=staff_user)
    assert (case.is_excluded, case.exclusion_reason) == (False, "")
    assert [(e.action, e.old_value) for e in AuditEntry.objects.order_by("pk")] == [
        ("case excluded", ""), ("case included", "blank")]


def test_the_page_form_excludes_and_shows_the_reason(draft, staff_user):
    client = Client()
    client.force_login(staff_user)
    case = bad_case(draft)
    response = client.post(f"/studies/paper/cases/{case.public_id}/exclude/", {"reason": "blank image"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/studies/paper/cases/{case.public_id}/"
    html = response.content.decode()
    assert '<strong id="exclusion-reason">blank image</strong>' in html and "Include it again" in html
    refused = client.post(f"/studies/paper/cases/{case.public_id}/exclude/", {"reason": "again"}, follow=True)
    assert "already excluded" in refused.content.decode()


@pytest.mark.parametrize("actor", ["anonymous", "reader", "outsider", "staff"])
def test_only_the_study_admin_can_exclude(draft, reader_factory, study_factory, staff_user, actor):
    users = {"anonymous": None, "reader": reader_factory(draft, username="reader").user,
             "outsider": reader_factory(study_factory("other", status="open"), username="outsider").user,
             "staff": staff_user}
    client = Client()
    if users[actor] is not None:
        client.force_login(users[actor])
    case = bad_case(draft)
    response = client.post(f"/studies/paper/cases/{case.public_id}/exclude/", {"reason": "mine"})
    expected = {"anonymous": LOGIN, "reader": 404, "outsider": 404, "staff": 302}[actor]
    assert access_outcome(response) == expected
    case.refresh_from_db()
    assert case.is_excluded == (actor == "staff")


def open_with_a_reader(study, staff_user, reader_factory):
    membership = reader_factory(study, username="reader")
    study_transition(study, staff_user, "open")
    membership.refresh_from_db()
    api = APIClient()
    api.force_authenticate(membership.user)
    return membership, api


def test_an_excluded_case_never_reaches_a_reader(draft, staff_user, reader_factory):
    excluded = case_exclude(case=bad_case(draft), actor=staff_user, reason="blank")
    membership, api = open_with_a_reader(draft, staff_user, reader_factory)

    assert excluded.pk not in set(SequenceSlot.objects.filter(membership=membership).values_list("case_id", flat=True))
    seen = []
    while (response := api.get("/api/studies/paper/next/")).status_code == 200:
        seen.append(response.data["case"])
        assert excluded.image_token not in response.data["image_url"]
        assert api.post("/api/studies/paper/votes/", {"case": response.data["case"], "answer": "real"},
                        format="json").status_code == 201
    assert sorted(seen) == sorted(draft.cases.included().values_list("public_id", flat=True))
    assert api.get("/api/studies/paper/progress/").data == {"answered": 3, "total": 3, "done": True}

    assert api.get(f"/i/{excluded.image_token}.png").status_code == 404
    vote = api.post("/api/studies/paper/votes/", {"case": excluded.public_id, "answer": "fake"}, format="json")
    assert vote.status_code == 400 and not excluded.votes.exists()


def test_a_study_whose_cases_are_all_excluded_cannot_open(draft, staff_user):
    for case in draft.cases.all():
        case_exclude(case=case, actor=staff_user, reason="all bad")
    with pytest.raises(TransitionRefused, match="no cases"):
        study_transition(draft, staff_user, "open")


@pytest.fixture
def voted_with_an_excluded_case(draft, staff_user, reader_factory):
    """Two readers voted on every case; then one case is marked excluded behind the service's back (a vote on an
    excluded case cannot happen through the app: this checks the results would not count it if it did)."""
    excluded = bad_case(draft)
    for name in ("r1", "r2"):
        membership = reader_factory(draft, username=name)
        factories.cast_votes_fast(membership, [(case, "real") for case in draft.cases.order_by("pk")])
    case_exclude(case=excluded, actor=staff_user, reason="box misplaced")
    Study.objects.filter(pk=draft.pk).update(status="closed")
    draft.refresh_from_db()
    return draft, excluded


def test_table1_leaves_an_excluded_case_out_and_lists_it(voted_with_an_excluded_case):
    study, excluded = voted_with_an_excluded_case
    table = services.build_table1(study).as_dict()
    cells = {(row["finding"], cell["source"]): cell["votes"] for row in table["rows"] for cell in row["cells"]}
    assert (cells[("Effusion", "Pix2Pix")], cells[("Effusion", "Real")], cells[("Total", "Pix2Pix")]) == (
        [0, 0], [1, 1], [1, 1])
    assert [(c["case"], c["finding"], c["source"], c["reason"], c["excluded_by"]) for c in table["excluded_cases"]] == [
        (excluded.public_id, "Effusion", "Pix2Pix", "box misplaced", "admin")]
    assert f"Excluded before the study opened (1, not counted): {excluded.public_id}" in \
        services.build_table1(study).as_markdown()


def test_the_statistics_leave_an_excluded_case_out_and_list_it(voted_with_an_excluded_case):
    study, excluded = voted_with_an_excluded_case
    report = services.build_statistics(study)
    assert report["n_votes"] == 6  # 2 readers x 3 included cases, not 8
    assert [c["case"] for c in report["excluded_cases"]] == [excluded.public_id]


def test_the_exports_leave_an_excluded_case_out_and_name_it_in_their_metadata(voted_with_an_excluded_case,
                                                                             staff_api):
    study, excluded = voted_with_an_excluded_case
    imrmc = mrmc_export.imrmc_text(study)
    header, data = imrmc.split("BEGIN DATA:")
    assert f"Excluded cases (not in this file): 1; {excluded.public_id} (Effusion, Pix2Pix): box misplaced" in header
    assert "N1:1\n" in header and excluded.public_id not in header.split("Cases (id = case):")[1].split("\n")[0]
    assert len([line for line in data.strip().splitlines() if line.startswith("truth,")]) == 3
    long_csv = "".join(mrmc_export.long_csv(study))
    votes_csv = b"".join(staff_api.get("/api/studies/paper/export.csv").streaming_content).decode()
    assert excluded.public_id not in long_csv and excluded.public_id not in votes_csv
    assert len(votes_csv.strip().splitlines()) == 1 + 6
    table1 = json.loads(staff_api.get("/api/studies/paper/table1/").content)
    assert [c["case"] for c in table1["excluded_cases"]] == [excluded.public_id]


def test_the_batch_page_composition_counts_the_cases_readers_read_and_says_how_many_are_excluded(draft, staff_user):
    case_exclude(case=bad_case(draft), actor=staff_user, reason="blank")
    client = Client()
    client.force_login(staff_user)
    html = client.get("/studies/paper/batches/").content.decode()
    assert '<td class="num total" id="composition-total">3</td>' in html
    assert "1 excluded case not counted" in html


def test_report_md_escapes_an_exclusion_reasons_html(draft, staff_user, staff_api):
    """An exclusion reason is free text: report.md (rendered by Markdown viewers, which pass raw HTML through)
    carries it escaped (issue 29)."""
    case_exclude(case=bad_case(draft), actor=staff_user, reason='<img src=x onerror="alert(1)"> <b>bad</b>')
    study_transition(draft, None, "open")
    text = b"".join(staff_api.get("/api/studies/paper/report.md").streaming_content).decode()
    assert "&lt;img src=x onerror=" in text and "&lt;b&gt;bad&lt;/b&gt;" in text
    assert "<img" not in text and "<b>" not in text
