"""The iMRMC export loads where it claims to: the Van Dyke reference layout (truth rows ``truth,<case>,truth,<0|1>``,
numeric ids with a key, only readers who voted, counts that match the data), read back by the project's own iMRMC
reader into the figures the results page shows; a binary study says so; and R itself (pROC) computes from the long
CSV the same per-reader AUCs and DeLong intervals as the project, to 1e-6."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess

import numpy as np
import pytest

from analysis.mrmc import fom
from analysis.mrmc.imrmc import parse_imrmc
from readerstudy.reading.models import Vote
from readerstudy.results.mrmc_export import fake_score, imrmc_export
from readerstudy.results.services import build_statistics
from readerstudy.studies.models import Case
from tests.factories import cast_votes_fast, create_cases_fast

N_REAL, N_EACH_GENERATOR = 14, 9


def test_the_exports_fake_score_of_a_vote_is_the_results_pages_for_every_answer_and_confidence():
    answers = [(answer, confidence) for answer in ("real", "fake") for confidence in range(1, 6)]
    per_vote = [fake_score(answer, confidence) for answer, confidence in answers]
    as_arrays = fom.fake_score(np.array([answer == "real" for answer, _ in answers]), np.array([c for _, c in answers]))
    assert per_vote == as_arrays.tolist() == [5, 4, 3, 2, 1, 6, 7, 8, 9, 10]
    assert all(type(score) is int for score in per_vote)


def make_study(study_factory, reader_factory, *, ask_confidence: bool, readers: int = 3, seed: int = 5):
    """Real images and two generators; ``readers`` readers who read every case (answers and ratings seeded, fakes
    a little more often called fake), and one member who never voted."""
    study = study_factory("paper", status="open", ask_confidence=ask_confidence)
    create_cases_fast(study, "effusion", "real", N_REAL)
    create_cases_fast(study, "effusion", "pix2pix", N_EACH_GENERATOR)
    create_cases_fast(study, "cardiomegaly", "stargan", N_EACH_GENERATOR)
    cases = list(Case.objects.filter(study=study).select_related("source").order_by("pk"))
    rng = np.random.default_rng(seed)
    for _ in range(readers):
        membership = reader_factory(study)
        answers = []
        for case in cases:
            fake = rng.random() < (0.35 if case.source.is_real else 0.65)
            confidence = int(rng.integers(1, 6)) if ask_confidence else None
            answers.append((case, "fake" if fake else "real", confidence))
        cast_votes_fast(membership, answers)
    reader_factory(study)  # a member who never voted
    return study


def split(text: str) -> tuple[list[str], dict[str, int], list[list[str]]]:
    head, data = text.split("BEGIN DATA:\n")
    lines = head.splitlines()
    counts = {line[:2]: int(line[3:]) for line in lines if line[:3] in ("NR:", "N0:", "N1:", "NM:")}
    return lines, counts, [line.split(",") for line in data.splitlines() if line]


def test_the_imrmc_file_has_the_reference_layout_numeric_ids_a_key_and_only_readers_who_voted(
        study_factory, reader_factory):
    study = make_study(study_factory, reader_factory, ask_confidence=True)
    export = imrmc_export(study)
    lines, counts, rows = split(export.text)
    assert counts == {"N0": N_REAL, "N1": 2 * N_EACH_GENERATOR, "NR": 3, "NM": 2}
    assert [line[:3] for line in lines[-4:]] == ["N0:", "N1:", "NR:", "NM:"]
    assert export.readers == {1: "R1", 2: "R2", 3: "R3"}  # R4 never voted
    generators = build_statistics(study)["generators"]  # in the study's order, as on the results page
    assert export.modalities == {1: generators[0], 2: generators[1]}
    assert {"Reader 1 = R1", f"Modality 2 = {generators[1]}"} <= set(lines)
    truth = [row for row in rows if row[0] == "truth"]
    assert all(row[2] == "truth" and row[3] in ("0", "1") for row in truth)
    assert sorted(int(row[1]) for row in truth) == list(range(1, N_REAL + 2 * N_EACH_GENERATOR + 1))
    scores = [row for row in rows if row[0] != "truth"]
    assert all(field.isdigit() for row in scores for field in row)
    # a real image is scored in both modalities, a generated one in its own: per reader 2 * real + each generator
    assert len(scores) == 3 * (2 * N_REAL + 2 * N_EACH_GENERATOR)
    assert {int(row[3]) for row in scores} <= set(range(1, 11))


def test_the_export_read_back_gives_the_results_pages_auc_for_every_reader_and_generator(
        study_factory, reader_factory):
    study = make_study(study_factory, reader_factory, ask_confidence=True)
    export = imrmc_export(study)

    data = parse_imrmc(export.text)

    assert (data.n_negative, data.n_positive) == (N_REAL, 2 * N_EACH_GENERATOR)
    areas = fom.auc(data.scores, data.truth)
    report = build_statistics(study)
    for r, reader_id in enumerate(data.readers):
        for m, modality_id in enumerate(data.modalities):
            cell = next(cell for cell in report["roc_auc"]["cells"]
                        if cell["reader"] == export.readers[int(reader_id)]
                        and cell["generator"] == export.modalities[int(modality_id)])
            assert areas[r, m] == pytest.approx(cell["auc"], abs=1e-12)
    # the case key maps every iMRMC case back to the study's case and its truth
    truth_by_public_id = {case.public_id: int(not case.source.is_real)
                          for case in Case.objects.select_related("source")}
    assert [truth_by_public_id[export.cases[int(case)]] for case in data.cases] == data.truth.tolist()


def test_a_vote_without_a_rating_in_a_study_that_asks_is_left_out_not_scored_as_a_sure_answer(
        study_factory, reader_factory):
    study = make_study(study_factory, reader_factory, ask_confidence=True)
    Vote.objects.filter(membership__number=1, case__source__slug="stargan").update(confidence=None)
    export = imrmc_export(study)
    assert export.left_out_unrated == N_EACH_GENERATOR
    assert f"Left out: {N_EACH_GENERATOR} vote(s) without a confidence rating." in export.text
    _, _, rows = split(export.text)
    stargan_cases = {number for number, public_id in export.cases.items()
                     if Case.objects.get(public_id=public_id).source.slug == "stargan"}
    assert not [row for row in rows if row[0] == "1" and int(row[1]) in stargan_cases]


def test_a_study_that_does_not_ask_for_confidence_exports_binary_scores_and_says_so(study_factory, reader_factory):
    study = make_study(study_factory, reader_factory, ask_confidence=False)
    export = imrmc_export(study)
    assert export.binary
    assert "Scores are BINARY (1 = called fake, 0 = called real)" in export.text
    assert "binary AUC" in export.text
    _, _, rows = split(export.text)
    assert {row[3] for row in rows if row[0] != "truth"} == {"0", "1"}
    auc = build_statistics(study)["roc_auc"]
    assert auc["binary"] is True and auc["cells"] == [] and "binary" in auc["note"]


def test_the_imrmc_download_carries_the_export(study_factory, reader_factory, staff_api):
    study = make_study(study_factory, reader_factory, ask_confidence=True, readers=2)
    response = staff_api.get("/api/studies/paper/export.imrmc")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode() == imrmc_export(study).text


R_SCRIPT = r"""
suppressPackageStartupMessages(library(pROC))
args <- commandArgs(trailingOnly = TRUE)
votes <- read.csv(args[1], stringsAsFactors = FALSE)
votes <- votes[votes$showing == "first" & !is.na(votes$fake_score), ]
out <- NULL
for (reader in sort(unique(votes$reader))) {
  mine <- votes[votes$reader == reader, ]
  for (generator in c(sort(unique(mine$generator[mine$generator != ""])), "All")) {
    used <- if (generator == "All") mine else mine[mine$is_fake == 0 | mine$generator == generator, ]
    curve <- roc(response = used$is_fake, predictor = used$fake_score, levels = c(0, 1), direction = "<",
                 quiet = TRUE)
    interval <- ci.auc(curve, method = "delong", conf.level = 0.95)
    out <- rbind(out, data.frame(reader = reader, generator = generator, auc = as.numeric(interval[2]),
                                 low = as.numeric(interval[1]), high = as.numeric(interval[3])))
  }
}
write.csv(out, args[2], row.names = FALSE)
"""


@pytest.mark.skipif(shutil.which("Rscript") is None,
                    reason="Rscript is not installed (apt-get install r-base-core r-cran-proc; .ci/run does)")
def test_r_proc_computes_the_same_per_reader_auc_and_delong_interval_from_the_long_csv(
        study_factory, reader_factory, staff_api, tmp_path):
    study = make_study(study_factory, reader_factory, ask_confidence=True, readers=3, seed=11)
    long_csv = tmp_path / "long.csv"
    long_csv.write_bytes(b"".join(staff_api.get("/api/studies/paper/export-long.csv").streaming_content))
    script, result = tmp_path / "auc.R", tmp_path / "auc.csv"
    script.write_text(R_SCRIPT)
    run = subprocess.run(["Rscript", str(script), str(long_csv), str(result)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    from_r = list(csv.DictReader(io.StringIO(result.read_text())))
    ours = {(cell["reader"], cell["generator"]): cell for cell in build_statistics(study)["roc_auc"]["cells"]}
    assert len(from_r) == 3 * 3
    for row in from_r:
        cell = ours[(row["reader"], row["generator"])]
        assert float(row["auc"]) == pytest.approx(cell["auc"], abs=1e-6)
        assert float(row["low"]) == pytest.approx(cell["ci_low"], abs=1e-6)
        assert float(row["high"]) == pytest.approx(cell["ci_high"], abs=1e-6)
