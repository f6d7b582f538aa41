"""The exports load in the R tools reviewers use, and the R tools agree with the project (issue 26, point 4):

* RJafroc 2.1.3 on the Van Dyke data: F, ddf, p, the difference's interval and every reader's AUC equal
  ``manage.py mrmc``'s (OR-Hillis, Wilcoxon AUC, jackknife covariance);
* R iMRMC 2.1.2's ``doIMRMC`` loads the study's own iMRMC export unmodified (truth rows with reader ``truth``) and
  its per-reader AUCs equal the project's;
* RJafroc on the Van Dyke data restricted to one modality (one treatment): its per-treatment intervals equal the
  project's one-modality rows (one generator's AUC, tested against 0.5 by an AUC analysis plan);
* RJafroc on the study's crossed export (two generators that faked the same origin images): F, ddf, p and the
  interval equal ``manage.py mrmc``'s on the same file.

Skipped with the reason only where R or the packages are absent (CI installs them from ../shared/r-packages/).
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from analysis.mrmc import fom
from analysis.mrmc.imrmc import parse_imrmc, read_imrmc
from analysis.mrmc.or_analysis import or_analysis
from readerstudy.results.mrmc_export import crossed_exports, imrmc_export
from readerstudy.studies.models import Case
from tests.factories import cast_votes_fast, create_cases_fast

DATA = Path(__file__).resolve().parent.parent / "data"


def _r_has(package: str) -> bool:
    if shutil.which("Rscript") is None:
        return False
    found = subprocess.run(["Rscript", "-e", f"cat(requireNamespace('{package}', quietly = TRUE) && "
                            "requireNamespace('jsonlite', quietly = TRUE))"],
                           capture_output=True, text=True, timeout=120)
    return found.stdout.strip().endswith("TRUE")


needs_rjafroc = pytest.mark.skipif(not _r_has("RJafroc"), reason="R, RJafroc 2.1.3 or jsonlite absent (sh "
                                                                  "../shared/r-packages/install.sh installs it)")
needs_imrmc = pytest.mark.skipif(not _r_has("iMRMC"), reason="R, iMRMC 2.1.2 or jsonlite absent (sh "
                                                              "../shared/r-packages/install.sh installs it)")

RJAFROC = r"""
suppressPackageStartupMessages({library(RJafroc); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
ds <- DfReadDataFile(args[1], format = "iMRMC")
out <- list()
for (option in c("RRRC", "FRRC")) {
  s <- St(ds, FOM = "Wilcoxon", method = "OR", analysisOption = option)
  part <- s[[option]]
  out[[option]] <- list(F = part$FTests[1, "FStat"], ddf = part$FTests[2, "DF"], p = part$FTests[1, "p"],
                        chisq = if ("Chisq" %in% names(part$FTests)) part$FTests[1, "Chisq"] else NA,
                        estimate = part$ciDiffTrt[1, "Estimate"], low = part$ciDiffTrt[1, "CILower"],
                        high = part$ciDiffTrt[1, "CIUpper"])
  out$foms <- s$FOMs$foms
  out$VarTR <- s$ANOVA$VarCom["VarTR", "Estimates"]
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"))
"""

IMRMC = r"""
suppressPackageStartupMessages({library(iMRMC); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
r <- doIMRMC(args[1])
cat(toJSON(list(perReader = r$perReader[r$perReader$modalityB == "NO_MOD", c("readerID", "modalityA", "AUCA")],
                Ustat = r$Ustat), digits = NA, na = "null"))
"""


def run_r(tmp_path: Path, script: str, *files: Path) -> dict:
    path = tmp_path / "check.R"
    path.write_text(script)
    done = subprocess.run(["Rscript", str(path), *map(str, files)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def ours(path: Path) -> dict:
    out = io.StringIO()
    call_command("mrmc", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def assert_same_analysis(from_r: dict, project: dict) -> None:
    rrrc, frrc = project["RRRC"], project["FRRC"]
    difference = rrrc["differences"][0]
    assert from_r["RRRC"]["F"] == pytest.approx(rrrc["test"]["statistic"], rel=1e-6)
    assert from_r["RRRC"]["ddf"] == pytest.approx(rrrc["test"]["df_den"], rel=1e-6)
    assert from_r["RRRC"]["p"] == pytest.approx(rrrc["test"]["p_value"], rel=1e-6)
    assert from_r["RRRC"]["estimate"] == pytest.approx(difference["difference"], abs=1e-9)
    assert from_r["RRRC"]["low"] == pytest.approx(difference["ci_low"], abs=1e-7)
    assert from_r["RRRC"]["high"] == pytest.approx(difference["ci_high"], abs=1e-7)
    assert from_r["FRRC"]["p"] == pytest.approx(frrc["test"]["p_value"], rel=1e-6)
    assert from_r["FRRC"]["low"] == pytest.approx(frrc["differences"][0]["ci_low"], abs=1e-7)
    assert from_r["VarTR"] == pytest.approx(project["components"]["var_tr"], rel=1e-6)
    foms = np.array(from_r["foms"])  # modalities x readers
    reader_fom = np.array([[project["fom"][reader][modality] for modality in project["modalities"]]
                           for reader in project["readers"]])
    np.testing.assert_allclose(foms.T, reader_fom, atol=1e-9)


@needs_rjafroc
def test_rjafroc_on_the_van_dyke_data_gives_the_figures_of_manage_py_mrmc(tmp_path):
    assert_same_analysis(run_r(tmp_path, RJAFROC, DATA / "vandyke.imrmc"), ours(DATA / "vandyke.imrmc"))


RJAFROC_ONE_TREATMENT = r"""
suppressPackageStartupMessages({library(RJafroc); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
ds <- DfReadDataFile(args[1], format = "iMRMC")
# St stops on one treatment ("object 'ret' not found"): FOM2ORVarComp gets jkFomValues[, j, ], whose treatment
# dimension R drops when there is one. Restore it; nothing else changes.
original <- RJafroc:::FOM2ORVarComp
assignInNamespace("FOM2ORVarComp", function(resampleFOM, varInflFactor, flag) {
  if (is.null(dim(resampleFOM))) resampleFOM <- matrix(resampleFOM, nrow = 1)
  original(resampleFOM, varInflFactor, flag)
}, ns = "RJafroc")
both <- St(ds, FOM = "Wilcoxon", method = "OR", analysisOption = "RRRC")
out <- list()
for (t in seq_along(ds$descriptions$modalityID)) {
  s <- St(DfExtractDataset(ds, trts = c(t)), FOM = "Wilcoxon", method = "OR", analysisOption = "FRRC")
  out[[t]] <- list(modality = ds$descriptions$modalityID[[t]], frrc = as.list(s$FRRC$ciAvgRdrEachTrt[1, ]),
                   alone = as.list(s$ANOVA$IndividualTrt[1, ]), inBoth = as.list(both$ANOVA$IndividualTrt[t, ]),
                   rrrcInBoth = as.list(both$RRRC$ciAvgRdrEachTrt[t, ]))
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"))
"""


@needs_rjafroc
def test_rjafroc_on_one_treatment_gives_the_projects_one_modality_rows(tmp_path):
    """The Van Dyke data restricted to one modality. RJafroc's FRRC per-treatment interval on the one-treatment
    dataset equals the project's one-modality row; its RRRC run stops on one treatment (its loop over treatment
    differences runs 1:0), so the RRRC row is RJafroc's per-treatment row of the two-treatment run, built only from
    that treatment's MS(R) and Cov2, which the one-treatment run gives the same (and equal the project's)."""
    data = read_imrmc(DATA / "vandyke.imrmc")
    for entry in run_r(tmp_path, RJAFROC_ONE_TREATMENT, DATA / "vandyke.imrmc"):
        m = data.modalities.index(str(entry["modality"]))
        areas, loo = fom.auc_and_jackknife(data.scores[:, [m]], data.truth)
        result = or_analysis(areas, fom.jackknife_covariance(loo), modalities=[data.modalities[m]])
        c = result.components
        for part in ("alone", "inBoth"):
            assert entry[part]["msREachTrt"] == pytest.approx(c.ms_r, rel=1e-9)
            assert entry[part]["varEachTrt"] == pytest.approx(c.var_error, rel=1e-9)
            assert entry[part]["cov2EachTrt"] == pytest.approx(c.cov2, rel=1e-9)
        for kind, row in (("FRRC", entry["frrc"]), ("RRRC", entry["rrrcInBoth"])):
            [ours] = result.analysis(kind).modalities
            assert row["Estimate"] == pytest.approx(ours.estimate, abs=1e-12)
            assert row["StdErr"] == pytest.approx(ours.se, rel=1e-9)
            assert row["CILower"] == pytest.approx(ours.ci_low, abs=1e-9)
            assert row["CIUpper"] == pytest.approx(ours.ci_high, abs=1e-9)
        assert entry["rrrcInBoth"]["DF"] == pytest.approx(result.rrrc.modalities[0].df, rel=1e-9)


def matched_study(study_factory, reader_factory, *, readers: int = 4, seed: int = 9):
    """Real images, and two generators that each faked the same 12 origin images (matched pairing); every reader
    reads every case with confidence."""
    study = study_factory("crossed", status="open", ask_confidence=True)
    create_cases_fast(study, "effusion", "real", 16)
    for source in ("pix2pix", "stargan"):
        for number, case in enumerate(create_cases_fast(study, "effusion", source, 12)):
            case.provenance = {"origin_image": f"origin-{number:02d}.png"}
            case.save(update_fields=["provenance"])
    cases = list(Case.objects.filter(study=study).select_related("source").order_by("pk"))
    rng = np.random.default_rng(seed)
    fake_look = {"real": 0.3, "pix2pix": 0.55, "stargan": 0.8}
    for _ in range(readers):
        membership = reader_factory(study)
        answers = []
        for case in cases:
            fake = rng.random() < fake_look[case.source.slug]
            answers.append((case, "fake" if fake else "real", int(rng.integers(1, 6))))
        cast_votes_fast(membership, answers)
    return study


@needs_imrmc
def test_r_imrmc_loads_the_studys_export_unmodified_and_its_per_reader_aucs_are_the_projects(
        study_factory, reader_factory, tmp_path):
    study = matched_study(study_factory, reader_factory)
    export = imrmc_export(study)
    assert "\n-1," not in export.text and "\ntruth," in export.text
    path = tmp_path / "study.imrmc"
    path.write_text(export.text)
    from_r = run_r(tmp_path, IMRMC, path)
    data = parse_imrmc(export.text)
    areas = fom.auc(data.scores, data.truth)
    rows = from_r["perReader"]
    assert len(rows) == len(data.readers) * len(data.modalities)
    for row in rows:
        r, m = data.readers.index(str(row["readerID"])), data.modalities.index(str(row["modalityA"]))
        assert row["AUCA"] == pytest.approx(areas[r, m], abs=1e-12)


@needs_rjafroc
def test_rjafroc_reads_the_crossed_export_and_agrees_with_manage_py_mrmc_on_it(study_factory, reader_factory,
                                                                              tmp_path):
    study = matched_study(study_factory, reader_factory)
    [crossed] = crossed_exports(study)
    assert crossed.text is not None and crossed.origins == 12 and crossed.readers == 4
    path = tmp_path / "crossed.imrmc"
    path.write_text(crossed.text)
    assert_same_analysis(run_r(tmp_path, RJAFROC, path), ours(path))


def test_a_split_design_says_plainly_that_only_imrmc_can_analyse_it(study_factory, reader_factory):
    study = matched_study(study_factory, reader_factory, readers=2)
    Case.objects.filter(study=study, source__slug="stargan").update(provenance={})
    [crossed] = crossed_exports(study)
    assert crossed.text is None and "only iMRMC" in crossed.reason


def test_a_study_name_with_line_breaks_cannot_inject_header_lines(study_factory, reader_factory):
    study = matched_study(study_factory, reader_factory, readers=2)
    study.name = "Evil\nBEGIN DATA:\n-1,1,truth,1\rN0:999"
    study.save(update_fields=["name"])
    for text in (imrmc_export(study).text, crossed_exports(study)[0].text):
        head = text.split("BEGIN DATA:\n")[0]
        assert text.count("BEGIN DATA:") == 1 and "\r" not in text
        assert [line for line in head.splitlines() if line.startswith("N0:")] == [line for line in head.splitlines()
                                                                                  if line.startswith("N0:")][-1:]
        assert "Evil BEGIN DATA; -1,1,truth,1 N0;999" in head
        parse_imrmc(text)
