"""The defects an independent check found in the MRMC analysis (issue 26, point 3), each held fixed."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from analysis.mrmc.analyse import analyse_imrmc
from analysis.mrmc.fom import CovarianceSummary
from analysis.mrmc.imrmc import read_imrmc
from analysis.mrmc.or_analysis import or_analysis, variance_components
from analysis.mrmc.simulate import SimulationConfig, simulate_study
from analysis.mrmc.study import study_mrmc
from analysis.planning import plan
from readerstudy.results.summary import lead_comparisons

DATA = Path(__file__).resolve().parent.parent / "data"


def test_identical_modalities_get_no_test_with_the_reason_never_p_zero():
    """Two modalities with the same figures and the same covariance: every difference 0, the error term 0."""
    fom = np.array([[0.8, 0.8], [0.7, 0.7], [0.9, 0.9], [0.75, 0.75]])
    one = np.diag([0.002, 0.003, 0.001, 0.002])
    covariance = np.zeros((4, 2, 4, 2))
    for m in range(2):
        for n in range(2):
            covariance[:, m, :, n] = one
    result = or_analysis(fom, covariance, modalities=["A", "B"])
    for analysis in (result.rrrc, result.frrc, result.rrfc):
        assert np.isnan(analysis.test.p_value) and np.isnan(analysis.test.statistic), analysis.kind
        assert "error term is 0" in analysis.test.no_test
        for difference in analysis.differences:
            assert difference.difference == 0
            assert np.isnan(difference.p_value)  # not p = 1 beside a global p = 0: no test at all
            assert difference.ci_low == difference.ci_high == 0
    document = result.as_dict()
    json.dumps(document, allow_nan=False)
    assert document["RRRC"]["test"]["p_value"] is None
    assert document["RRRC"]["test"]["no_test"].startswith("no test")


def test_a_real_difference_still_gets_its_test():
    study = simulate_study(SimulationConfig(n_readers=4, separations=(0.2, 1.2)), 3)
    result = study_mrmc(study.reader, study.case, study.source, study.called_real, study.fake_score,
                        readers=study.readers, sources=study.config.sources,
                        source_is_real=study.config.source_is_real)
    assert result.auc.rrrc.test.no_test == "" and 0 <= result.auc.rrrc.test.p_value < 0.05


def test_the_lead_analysis_counts_the_readers_in_that_analysis_not_every_voter():
    """Three voters, one of whom rated only real images: the AUC analysis holds two readers, so it leads with FRRC
    while the called-real analysis (three readers, everyone voted on every source) may lead with RRRC... unless the
    third reader saw no fakes at all: then the called-real analysis has two readers too."""
    study = simulate_study(SimulationConfig(n_readers=3, separations=(0.5, 1.0)), 5)
    fake_score = study.fake_score.copy()
    third_on_fakes = (study.reader == 2) & (study.source != 0)
    fake_score[third_on_fakes] = np.nan  # the third reader's votes on fakes carry no rating
    result = study_mrmc(study.reader, study.case, study.source, study.called_real, fake_score,
                        readers=study.readers, sources=study.config.sources,
                        source_is_real=study.config.source_is_real)
    assert len(result.auc.readers) == 2 and len(result.called_real.readers) == 3
    assert result.leads == {"called_real": "RRRC", "auc": "FRRC"}
    assert "The AUC analysis holds only 2 readers" in result.lead_sentence
    comparisons = lead_comparisons(result.as_dict(), ["Real"])
    assert comparisons["auc_kind"] == "FRRC" and comparisons["kind"] == "RRRC"

    only_real = ~((study.reader == 2) & (study.source != 0))
    result = study_mrmc(study.reader[only_real], study.case[only_real], study.source[only_real],
                        study.called_real[only_real], study.fake_score[only_real], readers=study.readers,
                        sources=study.config.sources, source_is_real=study.config.source_is_real)
    assert len(result.called_real.readers) == 2 and len(result.auc.readers) == 2
    assert result.lead == "FRRC" and result.leads == {"called_real": "FRRC", "auc": "FRRC"}
    assert "nothing here generalises to other readers" in result.lead_sentence


def _three_modality_file(tmp_path: Path) -> Path:
    """A split-design iMRMC file with three modalities (the study's own export shape): the real images negative in
    every modality, each modality's own fakes positive."""
    study = simulate_study(SimulationConfig(n_readers=4, n_real=30, n_fake=20, separations=(0.4, 0.8, 1.2)), 2)
    lines = ["Three modalities", "BEGIN DATA:"]
    cases = sorted(set(study.case.tolist()))
    source_of = dict(zip(study.case.tolist(), study.source.tolist(), strict=False))
    lines += [f"-1,{case},truth,{int(source_of[case] != 0)}" for case in cases]
    for reader, case, source, score in zip(study.reader, study.case, study.source, study.fake_score, strict=True):
        modalities = ("G1", "G2", "G3") if source == 0 else (f"G{source}",)
        lines += [f"R{reader + 1},{case},{m},{score:g}" for m in modalities]
    path = tmp_path / "three.imrmc"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_manage_py_mrmc_defaults_to_the_per_pair_error_term_as_the_page(tmp_path):
    path = _three_modality_file(tmp_path)

    def run(*args: str) -> dict:
        out = io.StringIO()
        call_command("mrmc", str(path), "--json", *args, stdout=out)
        return json.loads(out.getvalue())

    default, separate, pooled = run(), run("--pairwise", "separate"), run("--pairwise", "global")
    assert default["pairwise"] == "separate"
    assert default["RRRC"]["differences"] == separate["RRRC"]["differences"]
    assert default["RRRC"]["differences"] != pooled["RRRC"]["differences"]
    assert analyse_imrmc(read_imrmc(path)).pairwise == "separate"


def test_readers_needed_says_not_reachable_when_no_number_of_readers_reaches_the_target():
    """Large case variance shared across readers (Cov2 - Cov3 > 0) caps RRRC power on few cases."""
    fom = np.array([[0.80, 0.81], [0.70, 0.72], [0.90, 0.90], [0.75, 0.77]])
    summary = CovarianceSummary.from_matrix(_covariance(var=0.02, cov1=0.01, cov2=0.015, cov3=0.005))
    result = or_analysis(fom, summary, modalities=["A", "B"])
    entry = plan(result, n_cases=10, figure="auc")
    assert entry["readers_needed"] is None
    assert "not reachable" in entry["note"]


def _covariance(var: float, cov1: float, cov2: float, cov3: float, readers: int = 4) -> np.ndarray:
    covariance = np.zeros((readers, 2, readers, 2))
    for r in range(readers):
        for s in range(readers):
            for m in range(2):
                for n in range(2):
                    covariance[r, m, s, n] = (var if m == n else cov1) if r == s else (cov2 if m == n else cov3)
    return covariance


def test_var_tr_clamps_cov2_minus_cov3_at_zero_as_rjafroc_and_leaves_the_test_alone():
    """Cov2 < Cov3: Var(T*R) = MS(T*R) - Var + Cov1 + max(Cov2 - Cov3, 0) = MS(T*R) - Var + Cov1."""
    fom = np.array([[0.80, 0.85], [0.70, 0.72], [0.90, 0.88], [0.75, 0.79]])
    covariance = _covariance(var=0.004, cov1=0.002, cov2=0.001, cov3=0.0015)
    c = variance_components(fom, covariance)
    assert c.cov2 < c.cov3
    assert c.var_tr == pytest.approx(c.ms_tr - c.var_error + c.cov1)
    assert c.var_r == pytest.approx((c.ms_r - c.var_tr - c.var_error - c.cov1 + c.cov2 + c.cov3) / 2)
    result = or_analysis(fom, covariance)
    # the RRRC test uses MS(T*R) and the clamped covariances directly: F = MS(T) / MS(T*R), ddf = J - 1 here
    assert result.rrrc.test.statistic == pytest.approx(c.ms_t / c.ms_tr)
    assert result.rrrc.test.df_den == pytest.approx(3)


def test_vandyke_components_are_untouched_by_the_clamp():
    """Cov2 > Cov3 in the Van Dyke data: the reference's Var(T*R) 0.00020040 stands."""
    c = analyse_imrmc(read_imrmc(DATA / "vandyke.imrmc")).components
    assert f"{c.var_tr:.8f}" == "0.00020040"
