"""The results lead with the MRMC comparisons (generators as modalities): each generator against the real images and
every pair of generators, on the called-real rate and the AUC, saying what they generalise to; with fewer than three
readers that nothing generalises to other readers (FRRC first); a study without confidence ratings gets the
called-real analysis and a sentence on why there is no AUC. The same in the statistics API and the Markdown/JSON
reports; the analysis is cached until the next vote, and the endpoint's queries do not grow with the votes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.statistics import wilson_interval
from readerstudy.results.services import build_statistics, study_results
from readerstudy.studies.models import Case
from tests.factories import cast_votes_fast, create_cases_fast, create_reader, create_study
from tests.test_table1_paper import paper_study  # noqa: F401  (the paper's two-reader study)


def build_study(readers: int, *, ask_confidence: bool = True, per_generator: int = 12, real: int = 16,
                seed: int = 3, slug: str = "mrmc"):
    """Real images and three generators that pass as real more and more often; every reader reads every case."""
    study = create_study(slug, status="open", ask_confidence=ask_confidence)
    create_cases_fast(study, "effusion", "real", real)
    for generator in ("stargan", "pix2pix", "pix2pix-n"):
        create_cases_fast(study, "effusion", generator, per_generator)
    passes = {"real": 0.85, "stargan": 0.1, "pix2pix": 0.35, "pix2pix-n": 0.6}
    rng = np.random.default_rng(seed)
    cases = list(Case.objects.filter(study=study).select_related("source"))
    for _ in range(readers):
        membership = create_reader(study)
        answers = []
        for case in cases:
            called_real = rng.random() < passes[case.source.slug]
            answers.append((case, "real" if called_real else "fake",
                            int(rng.integers(1, 6)) if ask_confidence else None))
        cast_votes_fast(membership, answers)
    return study


def page(client, staff_user, slug: str) -> str:
    client.force_login(staff_user)
    response = client.get(f"/studies/{slug}/results/")
    assert response.status_code == 200
    return response.content.decode()


def test_with_two_readers_the_page_says_nothing_generalises_to_other_readers_and_leads_with_frrc(
        paper_study, client, staff_user):  # noqa: F811
    report = build_statistics(paper_study)
    assert report["comparisons"]["kind"] == "FRRC"
    assert "nothing here generalises to other readers" in report["comparisons"]["sentence"]
    html = page(client, staff_user, "paper")
    order = [html.index(marker) for marker in ('id="summary"', 'id="headline-chart"', 'id="comparisons"',
                                               'id="generalises"', 'id="vs-real"', 'id="generator-pairs"',
                                               'id="details"', 'id="table1"')]
    assert order == sorted(order)
    assert "nothing here generalises to other readers" in html[:html.index('id="vs-real"')]


def test_the_papers_headline_comparison_is_not_significant_once_readers_are_random(paper_study):  # noqa: F811
    """Pix2Pix-N vs StarGAN: p = 4e-36 with votes taken as independent, about 0.2 with two random readers."""
    rrrc = build_statistics(paper_study)["mrmc"]["called_real"]["RRRC"]
    pair = next(row for row in rrrc["differences"] if {row["first"], row["second"]} == {"StarGAN", "Pix2Pix-N"})
    assert pair["p_value"] > 0.05


def test_with_three_readers_the_page_leads_with_readers_and_cases_random(db, client, staff_user):
    study = build_study(readers=3)
    report = build_statistics(study)
    comparisons = report["comparisons"]
    assert comparisons["kind"] == "RRRC"
    assert "generalise to other readers reading other cases" in comparisons["sentence"]
    assert [row["first"] for row in comparisons["vs_real"]] == report["generators"]
    assert {(row["first"], row["second"]) for row in comparisons["called_real_pairs"]} == {
        ("StarGAN", "Pix2Pix"), ("StarGAN", "Pix2Pix-N"), ("Pix2Pix", "Pix2Pix-N")}
    assert {(row["first"], row["second"]) for row in comparisons["auc_pairs"]} == {
        ("StarGAN", "Pix2Pix"), ("StarGAN", "Pix2Pix-N"), ("Pix2Pix", "Pix2Pix-N")}
    assert [row["modality"] for row in comparisons["auc"]] == report["generators"]
    html = page(client, staff_user, study.slug)
    assert 'id="auc-generators"' in html and "Against the real images" in html


def test_every_interval_shown_is_within_what_the_figure_can_be(db):
    study = build_study(readers=3)
    comparisons = build_statistics(study)["comparisons"]
    for row in comparisons["called_real"] + comparisons["auc"]:
        assert 0 <= row["ci_low"] <= row["estimate"] <= row["ci_high"] <= 1


def test_without_confidence_the_called_real_analysis_stands_and_a_sentence_says_why_there_is_no_auc(
        db, client, staff_user):
    study = build_study(readers=3, ask_confidence=False)
    report = build_statistics(study)
    assert report["comparisons"]["called_real"] and report["comparisons"]["vs_real"]
    assert report["comparisons"]["auc"] == [] and report["mrmc"]["auc"] is None
    assert "so there is no ROC AUC" in report["comparisons"]["auc_note"]
    assert any("no ROC AUC" in sentence for sentence in report["summary"])
    html = page(client, staff_user, study.slug)
    assert 'id="no-auc"' in html and 'id="auc-generators"' not in html


def test_the_pooled_intervals_come_from_the_mrmc_analysis_not_from_votes_taken_as_independent(db):
    study = build_study(readers=4)
    report = build_statistics(study)
    pooled = {(row["finding"], row["source"]): row for row in report["called_real_pooled"]}
    lead = {row["modality"]: row for row in report["comparisons"]["called_real"]}
    for source, row in lead.items():
        assert pooled[("All", source)]["ci_low"] == pytest.approx(row["ci_low"])
        assert pooled[("All", source)]["analysis"] == "RRRC"
    for cell in report["called_real"]:
        if cell["reader"] == "Pooled" and cell["n"]:
            assert cell["interval"] == "MRMC RRRC"
            assert cell["ci_low"] == pooled[(cell["finding"], cell["source"])]["ci_low"]
            wilson_low, _ = wilson_interval(cell["called_real"], cell["n"])
            assert cell["ci_low"] != pytest.approx(float(wilson_low))
    for cell in report["detection"]:
        if cell["reader"] == "Pooled" and cell["n"]:
            assert cell["interval"] == "readers and cases resampled"
            assert cell["accuracy_ci_low"] <= cell["accuracy"] <= cell["accuracy_ci_high"]


def test_the_markdown_report_and_the_json_report_lead_with_the_same_comparisons(db, staff_api, capsys):
    study = build_study(readers=3)
    markdown = b"".join(staff_api.get(f"/api/studies/{study.slug}/report.md").streaming_content).decode()
    report = study_results(study).report
    assert markdown.index(" ".join(report["summary"])) < markdown.index("## Main comparisons (RRRC)")
    assert markdown.index("## Main comparisons") < markdown.index("## Table 1")
    assert "| StarGAN − Pix2Pix |" in markdown and "### Planning" in markdown
    call_command("results_report", "--study", study.slug, "--format", "json")
    document = json.loads(capsys.readouterr().out)
    assert document["comparisons"] == staff_api.get(f"/api/studies/{study.slug}/statistics/").json()["comparisons"]


def test_the_page_plans_the_next_study_from_this_ones_variance(db, client, staff_user):
    study = build_study(readers=3)
    power = {entry["figure"]: entry for entry in build_statistics(study)["power"]}
    assert set(power) == {"called_real", "auc"}
    assert 0 < power["called_real"]["power"] <= 1
    needed = [row["cases"] for row in power["auc"]["cases_needed"] if row["cases"] is not None]
    assert needed == sorted(needed, reverse=True)  # more readers, fewer cases
    assert 'id="power-called_real"' in page(client, staff_user, study.slug)


def test_the_headline_chart_is_served_as_png_and_svg(db, client, staff_user):
    study = build_study(readers=2)
    client.force_login(staff_user)
    png = client.get(f"/studies/{study.slug}/results/headline.png")
    svg = client.get(f"/studies/{study.slug}/results/headline.svg?download=1")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert svg["Content-Disposition"].startswith("attachment;") and b"<svg" in svg.content


def statistics_queries(client, slug: str) -> int:
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/studies/{slug}/statistics/").status_code == 200
    return len(queries)


def test_the_statistics_endpoint_runs_the_same_number_of_queries_however_many_votes(db, staff_api):
    study = build_study(readers=2, per_generator=3, real=4)
    small = statistics_queries(staff_api, study.slug)
    for _ in range(6):
        membership = create_reader(study)
        cast_votes_fast(membership, [(case, "fake", 3) for case in Case.objects.filter(study=study)])
    cases = create_cases_fast(study, "effusion", "pix2pix", 40)
    cast_votes_fast(membership, [(case, "real", 2) for case in cases], start_position=100)
    large = statistics_queries(staff_api, study.slug)
    assert large == small
    assert build_statistics(study)["n_votes"] == 8 * (4 + 3 * 3) + 40


def test_the_analysis_is_cached_until_the_next_vote(db, staff_api):
    study = build_study(readers=3)
    first = staff_api.get(f"/api/studies/{study.slug}/statistics/").json()
    with CaptureQueriesContext(connection) as queries:
        again = staff_api.get(f"/api/studies/{study.slug}/statistics/").json()
    assert again == first
    assert len(queries) <= 3  # the study, its membership check and the one-statement version; no vote is read
    membership = create_reader(study)
    cast_votes_fast(membership, [(Case.objects.filter(study=study).first(), "fake", 4)])
    after = staff_api.get(f"/api/studies/{study.slug}/statistics/").json()
    assert after["n_votes"] == first["n_votes"] + 1
