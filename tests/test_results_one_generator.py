"""A study of one generator against the real images, pre-registered on the AUC: the results give that generator
its AUC verdict (its AUC against 0.5 with its own OR standard error), on the page, in the answer and in the report,
where they used to say that comparing AUCs needs two generators."""
from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from analysis.mrmc.or_analysis import ONE_MODALITY
from readerstudy.results.analysis_plan import plan_set
from readerstudy.results.report import markdown_report
from readerstudy.results.services import build_statistics, build_table1
from readerstudy.studies.models import Case, Study
from tests.factories import cast_votes_fast, create_cases_fast, create_reader, create_study

OUTCOMES = ("passes", "fails", "inconclusive")


def one_generator_study(staff_user, *, readers: int = 4, seed: int = 5) -> Study:
    """Real images and one generator; every reader reads every case with confidence (fakes look fake a little more
    often than real images: an AUC a little above 0.5). The AUC plan is registered while a draft, then it opens."""
    study = create_study("one-generator", status="draft", ask_confidence=True)
    create_cases_fast(study, "effusion", "real", 20)
    create_cases_fast(study, "effusion", "pix2pix", 20)
    plan_set(study, staff_user, endpoint="auc", test="non_inferiority", margin=0.10, alpha=0.05)
    Study.objects.filter(pk=study.pk).update(status="open", opened_at=timezone.now())
    study.refresh_from_db()
    rng = np.random.default_rng(seed)
    looks_fake = {"real": 0.35, "pix2pix": 0.5}
    cases = list(Case.objects.filter(study=study).select_related("source"))
    for _ in range(readers):
        membership = create_reader(study)
        answers = [(case, "fake" if rng.random() < looks_fake[case.source.slug] else "real", int(rng.integers(1, 6)))
                   for case in cases]
        cast_votes_fast(membership, answers)
    return study


@pytest.fixture
def study(db, staff_user):
    return one_generator_study(staff_user)


def test_the_auc_plan_gives_the_one_generator_a_verdict_not_the_two_generator_note(study):
    report = build_statistics(study)
    equivalence = report["equivalence"]
    assert equivalence["analysis"] == "RRRC" and equivalence["note"] == ""
    [verdict] = equivalence["verdicts"]
    [row] = report["mrmc"]["auc"]["RRRC"]["modalities"]
    assert verdict["generator"] == row["modality"] == "Pix2Pix"
    assert (verdict["estimate"], verdict["se"], verdict["df"]) == (row["estimate"], row["se"], 3)
    assert verdict["outcome"] in OUTCOMES and verdict["sentence"].startswith(verdict["outcome"])
    answer = report["answer"][0]
    assert answer.startswith("Pre-registered non-inferiority test on the AUC (RRRC; a generator passes if AUC at "
                             "most 0.60): Pix2Pix ")
    assert any(word in answer for word in ("passes", "fail", "inconclusive"))
    assert "two generators" not in " ".join(report["answer"] + report["summary"])


def test_the_one_generators_auc_has_no_comparison_and_says_why(study):
    report = build_statistics(study)
    comparisons = report["comparisons"]
    [row] = comparisons["auc"]
    assert row["modality"] == "Pix2Pix" and row["ci_low"] < row["estimate"] < row["ci_high"]
    assert comparisons["auc_pairs"] == [] and comparisons["auc_test"]["no_test"] == ONE_MODALITY
    assert "One generator (Pix2Pix)" in comparisons["auc_note"]
    assert not [entry for entry in report["power"] if entry["figure"] == "auc"]  # no pair to plan for


def test_the_page_and_the_report_show_the_verdict(study, client, staff_user):
    report = build_statistics(study)
    [verdict] = report["equivalence"]["verdicts"]
    client.force_login(staff_user)
    html = client.get(f"/studies/{study.slug}/results/").content.decode()
    table = html[html.index('id="equivalence"'):]
    assert f'class="verdict-{verdict["outcome"]}"' in table and verdict["sentence"].split(" (")[0] in table
    assert 'id="no-auc"' not in html and "needs real images and at least" not in html
    assert ONE_MODALITY in html and "Var(T*R) –" in html  # the details: why no F test; no Var(T*R) in one
    text = markdown_report(report, build_table1(study))
    assert "## Pre-registered test: non-inferiority on the AUC" in text
    assert verdict["sentence"] in text and "Pix2Pix" in text.split("### AUC per generator")[1]
