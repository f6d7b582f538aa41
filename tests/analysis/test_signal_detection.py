"""Response bias apart from discrimination: d' and c, and chance tests only on balanced designs."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from analysis.proportions import binomial_p_values_vs_half
from analysis.signal_detection import balanced, signal_detection


def test_an_always_fake_reader_on_the_papers_design_has_no_discrimination_not_p_below_1e_30():
    """75 fakes and 25 real images per finding: "fake" to everything is 75% accurate, which a test against 0.5 would
    call p < 1e-30; d' says 0 and the criterion says how strongly the reader leans to "fake"."""
    assert binomial_p_values_vs_half(75 * 6, 100 * 6) < 1e-30  # what the accuracy test against chance said
    result = signal_detection(hits=450, n_fake=450, false_alarms=150, n_real=150)
    assert result.d_prime == 0.0
    assert result.criterion == pytest.approx(-norm.ppf(1 - 1 / 1200))
    assert result.corrected
    assert not balanced(150, 450)


def test_an_always_real_reader_and_a_coin_flipper_have_no_discrimination_either():
    always_real = signal_detection(hits=0, n_fake=75, false_alarms=0, n_real=25)
    assert always_real.d_prime == 0.0 and always_real.criterion > 2
    coin = signal_detection(hits=30, n_fake=60, false_alarms=10, n_real=20)
    assert coin.d_prime == pytest.approx(0.0) and coin.criterion == pytest.approx(0.0)
    assert not coin.corrected


def test_d_prime_and_c_are_the_textbook_values_and_vectorise():
    result = signal_detection(hits=np.array([84, 69]), n_fake=100, false_alarms=np.array([16, 31]), n_real=100)
    np.testing.assert_allclose(result.d_prime, [norm.ppf(0.84) - norm.ppf(0.16), norm.ppf(0.69) - norm.ppf(0.31)])
    np.testing.assert_allclose(result.criterion, [0.0, 0.0], atol=1e-12)
    biased = signal_detection(hits=93, n_fake=100, false_alarms=50, n_real=100)
    assert biased.criterion == pytest.approx(-norm.ppf(0.93) / 2)
    assert biased.d_prime == pytest.approx(norm.ppf(0.93))


def test_a_perfect_reader_gets_a_large_finite_d_prime():
    result = signal_detection(hits=50, n_fake=50, false_alarms=0, n_real=50)
    assert result.d_prime == pytest.approx(2 * norm.ppf(1 - 1 / 200))
    assert result.criterion == pytest.approx(0.0, abs=1e-12)


def test_no_votes_of_a_class_gives_nan():
    result = signal_detection(hits=3, n_fake=5, false_alarms=0, n_real=0)
    assert np.isnan(result.d_prime) and np.isnan(result.criterion) and not result.corrected


def test_chance_is_tested_only_on_balanced_votes():
    np.testing.assert_array_equal(balanced([25, 50, 0], [25, 150, 0]), [True, False, True])
