"""Binomial draws made as counts per value are binomial draws: the same distribution as numpy's one-at-a-time draws,
independent across cells, every edge (n = 0, p = 0, p = 1) exact."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.resampling import binomial_pmf_table, binomial_resamples, resample_counts


def test_the_pmf_table_is_scipys_binomial_pmf_with_zeros_past_each_cells_n():
    n, p = np.array([0, 3, 10, 150, 150]), np.array([0.3, 0.0, 1.0, 0.02, 0.5])
    table = binomial_pmf_table(n, p)
    assert table.shape == (5, 151)
    for row, (cell_n, cell_p) in enumerate(zip(n, p, strict=True)):
        expected = stats.binom.pmf(np.arange(151), cell_n, cell_p)
        assert table[row] == pytest.approx(expected, abs=1e-12)


def test_the_draws_have_each_cells_shape_and_the_edges_exactly():
    draws = binomial_resamples(np.array([[0, 5], [7, 7]]), np.array([[0.4, 0.0], [1.0, 0.5]]), 300,
                               np.random.default_rng(1))
    assert draws.shape == (2, 2, 300)
    assert (draws[0, 0] == 0).all() and (draws[0, 1] == 0).all() and (draws[1, 0] == 7).all()
    assert draws[1, 1].min() >= 0 and draws[1, 1].max() <= 7


def test_the_counts_per_value_follow_the_binomial_distribution():
    """A chi-square goodness of fit per cell (100,000 draws): the p-values look uniform, none tiny."""
    n, p = np.array([20, 150, 150, 60]), np.array([0.5, 0.1, 0.85, 0.33])
    draws = binomial_resamples(n, p, 100_000, np.random.default_rng(2))
    p_values = []
    for row, (cell_n, cell_p) in enumerate(zip(n, p, strict=True)):
        expected = stats.binom.pmf(np.arange(cell_n + 1), cell_n, cell_p) * draws.shape[1]
        observed = np.bincount(draws[row], minlength=cell_n + 1)
        keep = expected > 5  # pool the sparse tails
        observed = np.append(observed[keep], observed[~keep].sum())
        expected = np.append(expected[keep], expected[~keep].sum())
        p_values.append(stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue)
    assert min(p_values) > 1e-3


def test_shuffled_cells_are_independent_draws_in_random_order():
    """Paired resample by resample, two shuffled cells are uncorrelated, and neither is sorted; unshuffled, sorted."""
    rng = np.random.default_rng(3)
    shuffled = binomial_resamples(np.array([100, 100]), np.array([0.3, 0.3]), 20_000, rng)
    assert abs(np.corrcoef(shuffled[0], shuffled[1])[0, 1]) < 0.03
    assert abs(np.corrcoef(np.arange(20_000), shuffled[0])[0, 1]) < 0.03
    ordered = binomial_resamples(np.array([100]), np.array([0.3]), 1_000, rng, shuffle=False)
    assert (np.diff(ordered[0]) >= 0).all()


def test_a_percentile_agrees_with_numpys_binomial_within_monte_carlo_error():
    """The 2.5th and 97.5th percentiles of 2,000 draws, over 300 seeds each way: their means agree."""
    def ends(draws):
        return np.percentile(draws, [2.5, 97.5], axis=-1)

    new = np.array([ends(binomial_resamples(np.array(150), np.array(0.12), 2000, np.random.default_rng(s)))
                    for s in range(300)])
    old = np.array([ends(np.random.default_rng(s).binomial(150, 0.12, 2000)) for s in range(300)])
    standard_error = np.sqrt(new.var(axis=0) / 300 + old.var(axis=0) / 300)
    assert np.all(np.abs(new.mean(axis=0) - old.mean(axis=0)) < 4 * standard_error + 1e-12)


def test_impossible_parameters_are_refused():
    with pytest.raises(ValueError, match="p in"):
        binomial_resamples(np.array([5]), np.array([np.nan]), 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n >= 0"):
        binomial_resamples(np.array([-1]), np.array([0.5]), 10, np.random.default_rng(0))


def test_resample_counts_draw_as_many_items_as_there_are_and_only_their_labels():
    labels = np.array([0, 0, 2, 2, 2, 5])
    for n_labels in (6, 40):  # few labels per item: the multinomial; many: the items drawn
        counts = resample_counts(np.random.default_rng(4), labels, n_labels, 500)
        assert counts.shape == (500, n_labels) and (counts.sum(axis=1) == 6).all()
        assert (counts[:, [1, 3, 4]] == 0).all()


def test_drawing_the_items_and_the_multinomial_give_the_same_distribution():
    """Each label's count has the multinomial's mean n p and variance n p (1 - p) whichever way it is drawn."""
    labels = np.repeat(np.arange(5), [1, 4, 10, 25, 60])  # 100 items
    frequency = np.bincount(labels) / len(labels)
    by_items = resample_counts(np.random.default_rng(5), labels, 50, 40_000)[:, :5]  # 50 labels: items drawn
    multinomial = resample_counts(np.random.default_rng(6), labels, 5, 40_000)
    for counts in (by_items, multinomial):
        assert counts.mean(axis=0) == pytest.approx(100 * frequency, rel=0.02, abs=0.02)
        assert counts.var(axis=0) == pytest.approx(100 * frequency * (1 - frequency), rel=0.05)
    assert np.corrcoef(by_items[:, 3], by_items[:, 4])[0, 1] == pytest.approx(
        -np.sqrt(frequency[3] * frequency[4] / ((1 - frequency[3]) * (1 - frequency[4]))), abs=0.02)


def test_few_labels_keep_the_multinomial_draw_so_small_studies_keep_their_numbers():
    labels = np.repeat(np.arange(3), [30, 50, 20])
    expected = np.random.default_rng(7).multinomial(100, np.array([30, 50, 20]) / 100, size=10)
    assert (resample_counts(np.random.default_rng(7), labels, 3, 10) == expected).all()
