"""The figures of merit and their covariances, checked against scikit-learn and against brute force."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from analysis.mrmc import fom


@pytest.fixture
def split_scores():
    """3 readers x 2 modalities x 30 cases: 10 negatives shared, each modality with its own 10 positives, ratings
    1-5 with ties, and reader 2 missing two cases."""
    rng = np.random.default_rng(4)
    truth = np.array([0] * 10 + [1] * 20)
    scores = np.full((3, 2, 30), np.nan)
    ratings = rng.integers(1, 6, size=(3, 30)).astype(float)
    scores[:, 0, :20] = ratings[:, :20]
    scores[:, 1, :10] = ratings[:, :10]
    scores[:, 1, 20:] = ratings[:, 20:]
    scores[2, :, 3] = np.nan
    scores[2, 1, 25] = np.nan
    return scores, truth


def test_auc_is_sklearns_on_each_reader_and_modality(split_scores):
    scores, truth = split_scores
    areas = fom.auc(scores, truth)
    for r in range(3):
        for m in range(2):
            present = ~np.isnan(scores[r, m])
            assert areas[r, m] == pytest.approx(roc_auc_score(truth[present], scores[r, m, present]), abs=1e-12)


def test_jackknife_values_are_the_aucs_recomputed_without_each_case(split_scores):
    scores, truth = split_scores
    loo = fom.auc_jackknife(scores, truth)
    for k in range(30):
        without = np.delete(scores, k, axis=2)
        np.testing.assert_allclose(loo[:, :, k], fom.auc(without, np.delete(truth, k)), atol=1e-12)


def test_rate_jackknife_is_the_mean_without_each_case(split_scores):
    scores, _ = split_scores
    values = np.where(np.isnan(scores), np.nan, scores > 3)
    loo = fom.rate_jackknife(values)
    for k in range(30):
        np.testing.assert_allclose(loo[:, :, k], fom.rate(np.delete(values, k, axis=2)), atol=1e-12)


def test_jackknife_covariance_is_the_textbook_sum(split_scores):
    scores, truth = split_scores
    loo = fom.auc_jackknife(scores, truth)
    covariance = fom.jackknife_covariance(loo)
    a, b = loo[0, 0], loo[1, 1]
    expected = (30 - 1) / 30 * np.sum((a - a.mean()) * (b - b.mean()))
    assert covariance[0, 0, 1, 1] == pytest.approx(expected, abs=1e-15)
    assert np.allclose(covariance.reshape(6, 6), covariance.reshape(6, 6).T)


def test_delong_variance_by_its_definition():
    """One reader, one fully crossed modality: var = S10 / n1 + S01 / n0 with the structural components written out
    as the double sums of DeLong et al. (1988)."""
    rng = np.random.default_rng(9)
    negatives, positives = rng.integers(1, 6, 12).astype(float), rng.integers(2, 7, 9).astype(float)
    psi = lambda x, y: 1.0 if x > y else 0.5 if x == y else 0.0  # noqa: E731
    v10 = np.array([np.mean([psi(x, y) for y in negatives]) for x in positives])
    v01 = np.array([np.mean([psi(x, y) for x in positives]) for y in negatives])
    expected = np.var(v10, ddof=1) / 9 + np.var(v01, ddof=1) / 12
    scores = np.concatenate([negatives, positives])[None, None, :]
    truth = np.array([0] * 12 + [1] * 9)
    assert fom.delong_covariance(scores, truth)[0, 0, 0, 0] == pytest.approx(expected, rel=1e-12)


def test_a_modalitys_figures_do_not_covary_with_cases_it_does_not_use(split_scores):
    """Positives of modality 0 are not part of modality 1: DeLong's covariance between the two comes from the shared
    negatives alone, so it equals the covariance with the positives' scores scrambled."""
    scores, truth = split_scores
    covariance = fom.delong_covariance(scores, truth)[0, 0, 0, 1]
    scrambled = scores.copy()
    scrambled[0, 0, 10:20] = scrambled[0, 0, 10:20][::-1]
    assert np.isfinite(covariance)
    assert fom.delong_covariance(scrambled, truth)[0, 0, 0, 1] == pytest.approx(covariance)


def test_the_block_covariance_of_a_split_design_equals_the_dense_product(split_scores):
    """Skipping the cases a modality does not use changes nothing: the same covariance, for the AUC and for rates
    whose modalities share no case."""
    scores, truth = split_scores
    loo = fom.auc_jackknife(scores, truth)
    np.testing.assert_allclose(fom.jackknife_covariance(loo, fom.in_modality(scores)), fom.jackknife_covariance(loo),
                               atol=1e-15)
    values = np.full((3, 2, 30), np.nan)
    values[:, 0, :12] = (scores[:, 0, :12] > 2)
    values[:, 1, 12:] = (scores[:, 1, 12:] > 3)
    values[1, 1, 20] = np.nan
    rate_loo = fom.rate_jackknife(values)
    np.testing.assert_allclose(fom.jackknife_covariance(rate_loo, fom.in_modality(values)),
                               fom.jackknife_covariance(rate_loo), atol=1e-15)


def test_the_delong_variance_alone_is_the_covariance_matrix_diagonal():
    rng = np.random.default_rng(4)
    truth = np.r_[np.zeros(30, int), np.ones(25, int)]
    scores = rng.integers(1, 11, (4, 2, 55)).astype(float)
    scores[1, 0, :5] = np.nan  # a reader who skipped some cases
    areas, variance = fom.auc_and_delong_variance(scores, truth)
    covariance = fom.delong_covariance(scores, truth)
    np.testing.assert_allclose(areas, fom.auc(scores, truth))
    np.testing.assert_allclose(variance, np.einsum("ijij->ij", covariance), rtol=1e-12)


def test_mid_ranks_counted_for_whole_number_scores_are_scipys_rankdata():
    """The 1-10 fake-scores are ranked by counting, other scores by scipy: the same ranks, exactly, either way
    (ties at their mean rank, +inf above every score)."""
    from scipy.stats import rankdata

    from analysis.mrmc.fom import mid_ranks

    rng = np.random.default_rng(0)
    for trial in range(200):
        shape = tuple(int(size) for size in rng.integers(1, 30, rng.integers(1, 4)))
        values = rng.integers(-3, 12, shape).astype(float)
        values[rng.random(shape) < 0.3] = np.inf
        if trial % 4 == 0:
            values = np.full(shape, np.inf)
        if trial % 4 == 1:
            values = values + rng.random(shape) / 2  # not whole numbers: scipy ranks them
        assert np.array_equal(mid_ranks(values), rankdata(values, axis=-1)), trial
