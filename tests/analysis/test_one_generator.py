"""One generator (plus the real images): nothing to compare, but its AUC still has its own Obuchowski-Rockette
standard error, df and interval, which the AUC endpoint of an analysis plan tests against 0.5.

The one-modality rows are validated on the Van Dyke data restricted to one modality: against RJafroc 2.1.3's
per-treatment intervals (``ciAvgRdrEachTrt``; the R run itself is in ``test_r_crosscheck.py``) and against the same
modality's rows in the two-modality analysis. The per-modality rows use that modality's MS(R), Var and Cov2 only, so
on a crossed design (the other modality on the same cases) they are identical with or without the other modality. In
the study's split design the other generator's fakes add cases to the jackknife over all cases, whose factor
(K - 1) / K then scales Var and Cov2 (and nothing else): the last test here holds that exact relation.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from analysis.equivalence import Margin, verdicts
from analysis.equivalence_power import one_modality_pilot
from analysis.mrmc import fom
from analysis.mrmc.imrmc import read_imrmc
from analysis.mrmc.or_analysis import ONE_MODALITY, or_analysis
from analysis.mrmc.simulate import SimulationConfig, simulate_study
from analysis.mrmc.study import study_mrmc
from analysis.planning import plan
from tests.analysis.test_vandyke_reference import check

DATA = Path(__file__).resolve().parent.parent / "data"
KINDS = ("RRRC", "FRRC", "RRFC")

# RJafroc 2.1.3, St(ds, FOM = "Wilcoxon", method = "OR", analysisOption = ...)$...$ciAvgRdrEachTrt on Van Dyke, as
# printed (Estimate, StdErr, DF, CILower, CIUpper); FRRC's intervals are normal (its DF column, K - 1, is unused).
RJAFROC_RRRC = {"0": ("0.8970370", "0.03317360", "12.74465", "0.8252236", "0.9688505"),
                "1": ("0.9408374", "0.02156637", "12.71019", "0.8941378", "0.9875369")}
RJAFROC_FRRC = {"0": ("0.897037", "0.02428971", None, "0.8494301", "0.944644"),
                "1": ("0.9408374", "0.01677632", None, "0.9079564", "0.9737183")}


@pytest.fixture(scope="module")
def vandyke():
    return read_imrmc(DATA / "vandyke.imrmc")


def analysed(data):
    areas, loo = fom.auc_and_jackknife(data.scores, data.truth)
    return or_analysis(areas, fom.jackknife_covariance(loo), readers=data.readers, modalities=data.modalities)


def only(data, modality: int):
    return replace(data, modalities=[data.modalities[modality]], scores=data.scores[:, [modality]])


@pytest.mark.parametrize("modality", [0, 1])
def test_one_modalitys_rows_are_rjafrocs_per_treatment_intervals(vandyke, modality):
    result = analysed(only(vandyke, modality))
    for kind, printed in (("RRRC", RJAFROC_RRRC), ("FRRC", RJAFROC_FRRC)):
        [row] = result.analysis(kind).modalities
        estimate, se, df, low, high = printed[row.modality]
        check(row.estimate, estimate)
        check(row.se, se)
        check(row.ci_low, low)
        check(row.ci_high, high)
        if df is None:
            assert row.df is None
        else:
            check(row.df, df)


@pytest.mark.parametrize("modality", [0, 1])
def test_on_a_crossed_design_a_modalitys_rows_do_not_depend_on_the_other_modality(vandyke, modality):
    alone, both = analysed(only(vandyke, modality)), analysed(vandyke)
    for kind in KINDS:
        [row] = alone.analysis(kind).modalities
        same = both.analysis(kind).modalities[modality]
        for name in ("estimate", "se", "df", "ci_low", "ci_high"):
            assert getattr(row, name) == pytest.approx(getattr(same, name), rel=1e-12, abs=1e-15), (kind, name)


def test_one_modality_has_no_test_or_difference_and_says_why(vandyke):
    result = analysed(only(vandyke, 0))
    for kind in KINDS:
        analysis = result.analysis(kind)
        assert analysis.differences == [] and analysis.reader_differences == []
        assert analysis.test.no_test == ONE_MODALITY and np.isnan(analysis.test.p_value)
        assert analysis.test.df_num == 0
    c = result.components
    assert c.df_t == 0 and np.isnan(c.ms_t) and np.isnan(c.var_tr) and np.isnan(c.cov1) and np.isnan(c.cov3)
    # Var(R) and Var(T*R) cannot be told apart in one modality: var_r is their sum, one_modality_pilot's Var(R)
    assert c.var_r == pytest.approx(2 * one_modality_pilot(result, 0, 114).var_tr)
    assert c.ms_r == pytest.approx(analysed(vandyke).components.ms_r_per_modality[0], rel=1e-12)
    json.dumps(result.as_dict(), allow_nan=False)


def test_one_reader_and_one_modality_gets_the_fixed_reader_row_only(vandyke):
    data = only(vandyke, 0)
    result = analysed(replace(data, readers=data.readers[:1], scores=data.scores[:1]))
    assert result.rrrc is None and result.rrfc is None
    [row] = result.frrc.modalities
    assert row.se > 0 and row.ci_low < row.estimate < row.ci_high


def one_generator_study(seed: int = 3, **options):
    return simulate_study(SimulationConfig(n_readers=5, n_real=40, n_fake=40, separations=(0.3,), **options), seed)


def analyse(study, keep=None):
    keep = np.ones(len(study.reader), dtype=bool) if keep is None else keep
    config = study.config
    return study_mrmc(study.reader[keep], study.case[keep], study.source[keep], study.called_real[keep],
                      study.fake_score[keep], readers=study.readers, sources=config.sources,
                      source_is_real=config.source_is_real)


def test_a_one_generator_study_gets_its_auc_rows_and_no_comparison():
    result = analyse(one_generator_study())
    assert result.auc is not None and result.auc.modalities == ["G1"]
    assert result.leads["auc"] == "RRRC"
    for kind in KINDS:
        analysis = result.auc.analysis(kind)
        assert analysis.differences == [] and analysis.test.no_test == ONE_MODALITY
        [row] = analysis.modalities
        assert row.se > 0 and row.ci_low < row.estimate < row.ci_high
    assert "One generator (G1)" in result.auc_note and "no F test" in result.auc_note
    json.dumps(result.as_dict(), allow_nan=False)


def test_the_auc_plan_gives_the_one_generator_its_verdict():
    mrmc = analyse(one_generator_study()).as_dict()
    found = verdicts(mrmc, Margin(endpoint="auc", test="non_inferiority", margin=0.10, alpha=0.05))
    [verdict] = found["verdicts"]
    [row] = mrmc["auc"]["RRRC"]["modalities"]
    assert verdict["generator"] == "G1" and verdict["analysis"] == "RRRC" and found["note"] == ""
    assert (verdict["estimate"], verdict["se"], verdict["df"]) == (row["estimate"], row["se"], 4)
    assert verdict["outcome"] in ("passes", "fails", "inconclusive")
    assert verdict["sentence"].startswith(verdict["outcome"])


def test_a_second_generator_without_rated_votes_leaves_the_first_ones_auc():
    study = simulate_study(SimulationConfig(n_readers=4, n_real=30, n_fake=20, separations=(0.4, 0.8)), 5)
    rated = study.fake_score.copy()
    rated[study.source == 2] = np.nan
    result = study_mrmc(study.reader, study.case, study.source, study.called_real, rated, readers=study.readers,
                        sources=study.config.sources, source_is_real=study.config.source_is_real)
    assert result.auc.modalities == ["G1"] and any("G2" in note for note in result.notes)


def test_no_generator_or_no_real_images_still_means_no_auc():
    study = one_generator_study()
    fakes = study.source == 1
    result = analyse(study, keep=fakes)
    assert result.auc is None and result.auc_note == "The AUC needs real images and at least one generator."


def test_planning_a_comparison_of_two_generators_needs_two():
    result = analyse(one_generator_study())
    assert plan(result.auc, 80, "auc") is None
    assert plan(result.called_real, 80, "called_real") is not None


def test_in_the_split_design_a_second_generator_scales_var_and_cov2_by_the_jackknifes_factor_only():
    """G1's analysis with and without G2's fakes: the same AUCs and MS(R); Var and Cov2 differ only by the jackknife
    factor (K - 1) / K, K all the cases (with G2: the real images and both generators' fakes)."""
    study = simulate_study(SimulationConfig(n_readers=5, n_real=40, n_fake=30, separations=(0.3, 0.9)), 4)
    both = analyse(study).auc
    alone = analyse(study, keep=study.source != 2).auc
    k_both, k_alone = 40 + 2 * 30, 40 + 30
    factor = ((k_alone - 1) / k_alone) / ((k_both - 1) / k_both)
    np.testing.assert_allclose(alone.fom[:, 0], both.fom[:, 0], rtol=1e-12)
    c_alone, c_both = alone.components, both.components
    assert c_alone.ms_r_per_modality[0] == pytest.approx(c_both.ms_r_per_modality[0], rel=1e-12)
    assert c_alone.var_error_per_modality[0] == pytest.approx(factor * c_both.var_error_per_modality[0], rel=1e-12)
    assert c_alone.cov2_per_modality[0] == pytest.approx(factor * c_both.cov2_per_modality[0], rel=1e-12)
    ratio = alone.rrrc.modalities[0].se / both.rrrc.modalities[0].se
    assert 0.99 < ratio < 1.0  # a fraction of a percent smaller: fewer cases in the jackknife's factor
