"""Proportions: Wilson intervals, the exact test against chance, the small-sample rule, and the ratio every figure of
the results is (nan, never a division error, where there is nothing to divide by)."""
from __future__ import annotations

import numpy as np
from scipy.stats import binom
from statsmodels.stats.proportion import proportion_confint

CHANCE = 0.5
ALPHA = 0.05
SMALL_SAMPLE_N = 10
SMALL_SAMPLE_WIDTH = 0.4


def ratio(numerator, denominator) -> np.ndarray:
    """numerator / denominator elementwise, nan where the denominator is not positive."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def number_or_none(value) -> float | None:
    """A float for JSON, None for nan."""
    value = float(value)
    return None if np.isnan(value) else value


def wilson_interval(successes, n) -> tuple[np.ndarray, np.ndarray]:
    """Wilson 95% interval for successes/n, elementwise; nan where n is 0."""
    successes = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    safe_n = np.where(n > 0, n, 1.0)
    low, high = proportion_confint(successes, safe_n, alpha=ALPHA, method="wilson")
    empty = n <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def binomial_p_values_vs_half(successes, n) -> np.ndarray:
    """Two-sided exact binomial test of successes/n against 0.5 for whole arrays at once (nan where n is 0).

    At p = 0.5 the binomial is symmetric, so the outcomes at most as likely as k are exactly the two tails beyond
    min(k, n - k): p = min(1, 2 * P(X <= min(k, n - k))), the value scipy's ``binomtest`` finds one cell at a time."""
    successes = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    tail = binom.cdf(np.minimum(successes, n - successes), n, CHANCE)
    return np.where(n > 0, np.minimum(1.0, 2 * tail), np.nan)


def is_small_sample(n, low, high) -> np.ndarray:
    """True where a cell is too small for its interval to mean much: n < 10 or an interval wider than 0.4."""
    n = np.asarray(n)
    width = np.nan_to_num(np.asarray(high) - np.asarray(low), nan=1.0)
    return (n < SMALL_SAMPLE_N) | (width > SMALL_SAMPLE_WIDTH)
