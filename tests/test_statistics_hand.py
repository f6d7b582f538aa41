"""The statistics against hand-computed values on small cases, and the vectorised shortcuts against the libraries."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score, roc_auc_score
from statsmodels.stats.inter_rater import fleiss_kappa

from analysis import agreement_measures, proportions
from analysis import statistics as st
from analysis.mrmc import fom

LAYOUT_ONE_GENERATOR = st.Layout(readers=["R1"], findings=["Effusion"], sources=["Real", "GAN"],
                                 source_is_real=[True, False])


def votes_for(answers_by_reader: list[list[bool]], sources: list[int], confidence=None, time_ms=None,
              findings=None) -> st.Votes:
    """Every reader votes on the same cases 0..n-1; answers are True for "real"."""
    n = len(sources)
    readers = [r for r, answers in enumerate(answers_by_reader) for _ in answers]
    return st.Votes.from_columns(
        reader=readers,
        case=[case for answers in answers_by_reader for case in range(len(answers))],
        finding=(findings or [0] * n) * len(answers_by_reader),
        source=sources * len(answers_by_reader),
        called_real=[answer for answers in answers_by_reader for answer in answers],
        confidence=None if confidence is None else [c for per_reader in confidence for c in per_reader],
        time_ms=None if time_ms is None else [t for per_reader in time_ms for t in per_reader],
    )


def cell(cells: list[dict], **wanted) -> dict:
    matches = [c for c in cells if all(c[key] == value for key, value in wanted.items())]
    assert len(matches) == 1, wanted
    return matches[0]


# 10 real images (source 0) then 10 fakes (source 1)
SOURCES_10_10 = [0] * 10 + [1] * 10
TRUTH_10_10 = [True] * 10 + [False] * 10


def test_a_perfect_reader_scores_one_on_accuracy_sensitivity_and_specificity():
    report = st.study_statistics(votes_for([TRUTH_10_10], SOURCES_10_10), LAYOUT_ONE_GENERATOR)

    overall = cell(report["detection"], reader="R1", finding="All", generator="All")
    assert (overall["tp"], overall["fn"], overall["tn"], overall["fp"]) == (10, 0, 10, 0)
    assert overall["accuracy"] == overall["sensitivity"] == overall["specificity"] == 1.0
    # two-sided exact binomial: 2 * 0.5**20
    assert overall["p_value_vs_chance"] == pytest.approx(2 * 0.5**20)


def test_a_perfect_reader_has_a_zero_hype_error_rate_with_a_zero_width_interval():
    report = st.study_statistics(votes_for([TRUTH_10_10], SOURCES_10_10), LAYOUT_ONE_GENERATOR)

    hype = cell(report["hype_infinity"], reader="R1", generator="All")
    assert (hype["error_rate"], hype["ci_low"], hype["ci_high"]) == (0.0, 0.0, 0.0)


def test_a_reader_who_always_says_real_has_sensitivity_zero_and_specificity_one():
    report = st.study_statistics(votes_for([[True] * 20], SOURCES_10_10), LAYOUT_ONE_GENERATOR)

    overall = cell(report["detection"], reader="R1", finding="All", generator="All")
    assert overall["sensitivity"] == 0.0
    assert overall["specificity"] == 1.0
    assert overall["accuracy"] == 0.5
    assert overall["p_value_vs_chance"] == pytest.approx(1.0)
    assert cell(report["hype_infinity"], reader="R1", generator="All")["error_rate"] == 0.5
    fakes = cell(report["called_real"], reader="R1", finding="All", source="GAN")
    assert (fakes["called_real"], fakes["n"], fakes["rate"]) == (10, 10, 1.0)


def test_called_real_rate_has_the_wilson_interval_computed_by_hand():
    # 3 of 10 fakes called real: Wilson 95% with z = 1.959964
    answers = [True] * 10 + [True] * 3 + [False] * 7
    report = st.study_statistics(votes_for([answers], SOURCES_10_10), LAYOUT_ONE_GENERATOR)

    fakes = cell(report["called_real"], reader="R1", finding="All", source="GAN")
    z, n, p = 1.959963984540054, 10, 0.3
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert fakes["rate"] == 0.3
    assert fakes["ci_low"] == pytest.approx(centre - half)
    assert fakes["ci_high"] == pytest.approx(centre + half)


def test_cells_below_ten_votes_or_with_wide_intervals_are_flagged_small():
    flags = proportions.is_small_sample(np.array([9, 10, 400]), np.array([0.1, 0.45, 0.1]), np.array([0.2, 0.55, 0.6]))

    assert flags.tolist() == [True, False, True]


def test_two_readers_who_agree_perfectly_have_cohens_kappa_one():
    answers = [True, False, True, True, False, False, True, False]
    votes = votes_for([answers, answers], [0, 1, 0, 1, 1, 1, 0, 1])
    _, case_index = np.unique(votes.case, return_inverse=True)

    matrix = agreement_measures.reader_case_matrix(case_index, votes.reader, votes.called_real, 2)
    agreement = agreement_measures.agreement(matrix)

    assert agreement["method"] == "cohen"
    assert (agreement["kappa"], agreement["ci_low"], agreement["ci_high"]) == (1.0, 1.0, 1.0)
    assert agreement["observed_agreement"] == 1.0


def test_kappa_is_undefined_when_every_vote_is_the_same():
    matrix = np.ones((6, 2), dtype=np.int8)

    agreement = agreement_measures.agreement(matrix)

    assert agreement["kappa"] is None
    assert "undefined" in agreement["note"]


def test_cohens_kappa_matches_a_hand_computed_table():
    # both real 4, R1 only 1, R2 only 1, both fake 4: po = 0.8, pe = 0.5 -> kappa = 0.6
    first = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    second = np.array([1, 1, 1, 1, 0, 1, 0, 0, 0, 0])

    agreement = agreement_measures.agreement(np.column_stack([first, second]).astype(np.int8))

    assert agreement["kappa"] == pytest.approx(0.6)
    assert agreement["ci_low"] < 0.6 < agreement["ci_high"]


def test_vectorised_cohen_kappa_agrees_with_sklearn():
    rng = np.random.default_rng(1)
    first, second = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    cells = [np.sum((first == 1) & (second == 1)), np.sum((first == 1) & (second == 0)),
             np.sum((first == 0) & (second == 1)), np.sum((first == 0) & (second == 0))]

    assert agreement_measures.kappa_from_two_by_two(*cells) == pytest.approx(cohen_kappa_score(first, second))


def test_three_readers_use_fleiss_kappa_and_it_matches_statsmodels():
    rng = np.random.default_rng(2)
    matrix = (rng.random((60, 3)) < np.linspace(0.1, 0.9, 60)[:, None]).astype(np.int8)
    real_votes = matrix.sum(axis=1)

    agreement = agreement_measures.agreement(matrix)

    expected = fleiss_kappa(np.column_stack([real_votes, 3 - real_votes]), method="fleiss")
    assert agreement["method"] == "fleiss"
    assert agreement["kappa"] == pytest.approx(expected)
    assert agreement_measures.fleiss_from_patterns(np.bincount(real_votes, minlength=4), 3) == pytest.approx(expected)
    assert agreement["ci_low"] < agreement["kappa"] < agreement["ci_high"]


def test_agreement_uses_only_cases_every_reader_voted_on():
    matrix = np.array([[1, 1], [0, 0], [1, -1], [1, 0]], dtype=np.int8)

    assert agreement_measures.agreement(matrix)["n_cases"] == 3


def test_one_reader_has_no_agreement_to_report():
    assert agreement_measures.agreement(np.ones((5, 1), dtype=np.int8))["kappa"] is None


def test_bootstraps_are_reproducible_with_the_fixed_seed():
    rng = np.random.default_rng(3)
    votes = votes_for([list(rng.random(20) < 0.5), list(rng.random(20) < 0.5)], SOURCES_10_10)
    layout = st.Layout(readers=["R1", "R2"], findings=["Effusion"], sources=["Real", "GAN"],
                       source_is_real=[True, False])

    first, second = st.study_statistics(votes, layout), st.study_statistics(votes, layout)

    assert first["hype_infinity"] == second["hype_infinity"]
    assert first["agreement"] == second["agreement"]


def test_vectorised_binomial_test_against_half_matches_scipy():
    for n in (1, 7, 20, 51):
        for k in range(n + 1):
            assert proportions.binomial_p_values_vs_half(k, n) == pytest.approx(binomtest(k, n, 0.5).pvalue, rel=1e-9)


def test_auc_from_confidence_is_sklearns_roc_auc_on_the_individual_votes():
    rng = np.random.default_rng(4)
    answers = list(rng.random(20) < np.r_[np.full(10, 0.7), np.full(10, 0.4)])
    confidence = list(rng.integers(1, 6, 20))
    votes = votes_for([answers], SOURCES_10_10, confidence=[confidence])

    report = st.roc_auc(votes, LAYOUT_ONE_GENERATOR)

    score = np.where(answers, 6 - np.array(confidence), 5 + np.array(confidence))
    expected = roc_auc_score([0] * 10 + [1] * 10, score)
    assert cell(report["cells"], reader="R1", generator="GAN")["auc"] == pytest.approx(expected)


def test_a_perfect_confident_reader_has_auc_one_and_the_score_scale_is_documented():
    votes = votes_for([TRUTH_10_10], SOURCES_10_10, confidence=[[5] * 20])

    report = st.roc_auc(votes, LAYOUT_ONE_GENERATOR)

    assert cell(report["cells"], reader="R1", generator="All")["auc"] == 1.0
    assert fom.fake_score(np.array([True, True, False, False]), np.array([5, 1, 1, 5])).tolist() == [1, 5, 6, 10]


def test_without_confidence_ratings_auc_says_why_it_is_missing():
    report = st.roc_auc(votes_for([TRUTH_10_10], SOURCES_10_10), LAYOUT_ONE_GENERATOR)

    assert report["cells"] == []
    assert "confidence" in report["note"]


def test_reading_time_median_and_fast_slow_split_at_the_readers_median():
    times = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000] * 2
    # correct on the 10 fastest reads (times <= 500), wrong on the slow ones
    answers = [t <= 500 for t in times[:10]] + [t > 500 for t in times[10:]]
    votes = votes_for([answers], SOURCES_10_10, time_ms=[times])

    entry = cell(st.reading_time(votes, LAYOUT_ONE_GENERATOR)["readers"], reader="R1")

    assert entry["median_ms"] == 550.0
    assert (entry["fast"]["n"], entry["fast"]["accuracy"]) == (10, 1.0)
    assert (entry["slow"]["n"], entry["slow"]["accuracy"]) == (10, 0.0)
    assert cell(entry["fast"]["by_source"], source="Real")["called_real"] == 5


def test_pooled_rows_sum_the_readers_and_per_finding_rows_split_them():
    layout = st.Layout(readers=["R1", "R2"], findings=["Effusion", "Pneumonia"], sources=["Real", "GAN"],
                       source_is_real=[True, False])
    findings = [0, 1] * 10
    votes = votes_for([[True] * 20, [False] * 20], SOURCES_10_10, findings=findings)

    rates = st.study_statistics(votes, layout)["called_real"]

    assert cell(rates, reader="Pooled", finding="All", source="GAN")["called_real"] == 10
    assert cell(rates, reader="Pooled", finding="All", source="GAN")["n"] == 20
    assert cell(rates, reader="R1", finding="Pneumonia", source="Real")["n"] == 5


def test_an_empty_study_gives_zeros_and_no_crash():
    layout = st.Layout(readers=["R1"], findings=["Effusion"], sources=["Real", "GAN"], source_is_real=[True, False])

    report = st.study_statistics(votes_for([[]], []), layout)

    assert report["n_votes"] == 0
    assert report["prevalence_real"] is None
    assert cell(report["called_real"], reader="R1", finding="All", source="Real")["n"] == 0
    assert cell(report["called_real"], reader="R1", finding="All", source="Real")["rate"] is None
    assert cell(report["hype_infinity"], reader="Pooled", generator="All")["error_rate"] is None
