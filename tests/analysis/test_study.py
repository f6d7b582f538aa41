"""The MRMC analysis of a reader study's votes: generators as modalities in the split design, what leads, and what
happens with few readers, no confidence ratings or incomplete reading."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from analysis import statistics as st
from analysis.mrmc import fom
from analysis.mrmc.or_analysis import or_analysis
from analysis.mrmc.simulate import SimulationConfig, simulate_study
from analysis.mrmc.study import auc_score_array, split_design, study_mrmc, study_mrmc_from_votes


def analyse(study, **options):
    config = study.config
    return study_mrmc(study.reader, study.case, study.source, study.called_real,
                      options.pop("fake_score", study.fake_score), readers=study.readers, sources=config.sources,
                      source_is_real=config.source_is_real, **options)


@pytest.fixture(scope="module")
def study():
    return simulate_study(SimulationConfig(n_readers=4, n_real=30, n_fake=20, separations=(0.4, 0.8, 1.2)), 8)


def test_generators_are_the_auc_modalities_and_sources_the_called_real_ones(study):
    result = analyse(study)
    assert result.auc.modalities == ["G1", "G2", "G3"]
    assert result.called_real.modalities == ["Real", "G1", "G2", "G3"]
    assert [(d.first, d.second) for d in result.auc.rrrc.differences] == [("G1", "G2"), ("G1", "G3"), ("G2", "G3")]
    assert [(d.first, d.second) for d in result.vs_real["RRRC"]] == [("G1", "Real"), ("G2", "Real"), ("G3", "Real")]
    assert result.lead == "RRRC" and "other readers reading other cases" in result.lead_sentence
    json.dumps(result.as_dict(), allow_nan=False)


def test_a_generators_auc_uses_the_real_images_and_its_own_fakes_only(study):
    design = split_design(study.reader, study.case, study.source, study.called_real, study.fake_score)
    scores, truth, generators = auc_score_array(design, study.config.source_is_real)
    assert generators == [1, 2, 3]
    for g, source in enumerate(generators):
        used = ~np.isnan(scores[0, g])
        assert set(design.case_source[used]) == {0, source}
    result = analyse(study)
    for r in range(4):
        mine = study.reader == r
        for g, source in enumerate(generators):
            keep = mine & np.isin(study.source, [0, source])
            expected = roc_auc_score(study.source[keep] != 0, study.fake_score[keep])
            assert result.auc.fom[r, g] == pytest.approx(expected)


def test_the_split_jackknife_equals_the_dense_one(study):
    """What study_mrmc computes through the summary over shared cases is the OR analysis of the full matrix."""
    design = split_design(study.reader, study.case, study.source, study.called_real, study.fake_score)
    scores, truth, _ = auc_score_array(design, study.config.source_is_real)
    areas, loo = fom.auc_and_jackknife(scores, truth)
    dense = or_analysis(areas, fom.jackknife_covariance(loo), pairwise="separate")
    result = analyse(study)
    assert result.auc.components.cov1 == pytest.approx(dense.components.cov1, rel=1e-10)
    assert result.auc.rrrc.differences[2].p_value == pytest.approx(dense.rrrc.differences[2].p_value, rel=1e-10)


def test_a_vote_in_the_real_images_moves_every_generators_auc_and_a_fake_its_own_only(study):
    design = split_design(study.reader, study.case, study.source, study.called_real, study.fake_score)
    scores, truth, _ = auc_score_array(design, study.config.source_is_real)
    loo = fom.auc_jackknife(scores, truth)
    areas = fom.auc(scores, truth)
    real_case = int(np.flatnonzero(design.case_source == 0)[0])
    g2_case = int(np.flatnonzero(design.case_source == 2)[0])
    assert np.all(loo[:, :, real_case] != areas)
    assert np.all(loo[:, [0, 2], g2_case] == areas[:, [0, 2]]) and np.all(loo[:, 1, g2_case] != areas[:, 1])


def test_without_confidence_there_is_the_called_real_analysis_and_a_sentence_on_why_no_auc(study):
    result = analyse(study, fake_score=np.full(len(study.reader), np.nan))
    assert result.auc is None and "did not ask" in result.auc_note and "no ROC AUC" in result.auc_note
    assert result.called_real is not None


def test_with_two_readers_nothing_generalises_to_readers_and_fixed_readers_lead(study):
    keep = study.reader < 2
    result = study_mrmc(study.reader[keep], study.case[keep], study.source[keep], study.called_real[keep],
                        study.fake_score[keep], readers=study.readers, sources=study.config.sources,
                        source_is_real=study.config.source_is_real)
    assert result.lead == "FRRC"
    assert "nothing here generalises to other readers" in result.lead_sentence
    assert result.auc.rrrc is not None  # computed, but the page leads with FRRC


def test_one_reader_gets_the_fixed_reader_analysis_only(study):
    keep = study.reader == 0
    result = study_mrmc(study.reader[keep], study.case[keep], study.source[keep], study.called_real[keep],
                        study.fake_score[keep], readers=study.readers, sources=study.config.sources,
                        source_is_real=study.config.source_is_real)
    assert result.lead == "FRRC" and result.auc.rrrc is None and result.auc.rrfc is None
    assert len(result.auc.frrc.reader_differences) == 3
    json.dumps(result.as_dict(), allow_nan=False)


def test_a_reader_who_has_not_read_every_generator_yet_is_left_out_with_a_note(study):
    keep = ~((study.reader == 3) & (study.source == 3))
    result = study_mrmc(study.reader[keep], study.case[keep], study.source[keep], study.called_real[keep],
                        study.fake_score[keep], readers=study.readers, sources=study.config.sources,
                        source_is_real=study.config.source_is_real)
    assert result.auc.readers == ["R1", "R2", "R3"] and result.called_real.readers == ["R1", "R2", "R3"]
    assert any("R4" in note for note in result.notes)


def test_a_reader_with_part_of_the_cases_still_counts(study):
    keep = ~((study.reader == 3) & (study.case % 2 == 0))
    result = study_mrmc(study.reader[keep], study.case[keep], study.source[keep], study.called_real[keep],
                        study.fake_score[keep], readers=study.readers, sources=study.config.sources,
                        source_is_real=study.config.source_is_real)
    assert result.auc.readers == ["R1", "R2", "R3", "R4"] and not result.notes


def test_from_the_statistics_arrays():
    layout = st.Layout(readers=["R1", "R2", "R3"], findings=["Effusion"], sources=["Real", "A", "B"],
                       source_is_real=[True, False, False])
    rng = np.random.default_rng(0)
    n = 30
    sources = np.repeat([0, 1, 2], 10)
    votes = st.Votes.from_columns(
        reader=np.repeat([0, 1, 2], n), case=np.tile(np.arange(n), 3), finding=np.zeros(3 * n),
        source=np.tile(sources, 3), called_real=rng.random(3 * n) < 0.5, confidence=rng.integers(1, 6, 3 * n))
    result = study_mrmc_from_votes(votes, layout)
    assert result.auc.modalities == ["A", "B"] and result.called_real.modalities == ["Real", "A", "B"]


def test_a_generator_without_votes_yet_is_left_out_not_every_reader(study):
    keep = study.source != 3
    result = study_mrmc(study.reader[keep], study.case[keep], study.source[keep], study.called_real[keep],
                        study.fake_score[keep], readers=study.readers, sources=study.config.sources,
                        source_is_real=study.config.source_is_real)
    assert result.called_real.modalities == ["Real", "G1", "G2"] and result.auc.modalities == ["G1", "G2"]
    assert len(result.called_real.readers) == 4 and any("G3" in note for note in result.notes)


def test_a_generator_without_rated_votes_is_left_out_of_the_auc_only(study):
    scores = np.where(study.source == 3, np.nan, study.fake_score)
    result = analyse(study, fake_score=scores)
    assert result.auc.modalities == ["G1", "G2"] and result.called_real.modalities == ["Real", "G1", "G2", "G3"]
