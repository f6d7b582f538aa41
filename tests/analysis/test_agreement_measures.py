"""PABAK and positive/negative agreement beside kappa, and intra-reader kappa with an interval."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from analysis.agreement_measures import agreement_measures, intra_reader_agreement, measures_from_patterns


def two_reader_patterns(both_fake: int, disagree: int, both_real: int) -> np.ndarray:
    """Cases with 0, 1, 2 "real" votes."""
    return np.array([both_fake, disagree, both_real])


def test_two_readers_match_the_textbook_formulas():
    a, bc, d = 40, 10, 50
    measures = measures_from_patterns(two_reader_patterns(a, bc, d), raters=2)
    assert measures["observed"] == pytest.approx(0.9)
    assert measures["pabak"] == pytest.approx(0.8)
    assert measures["positive_agreement"] == pytest.approx(2 * a / (2 * a + bc))
    assert measures["negative_agreement"] == pytest.approx(2 * d / (2 * d + bc))


def test_the_kappa_paradox_high_agreement_low_kappa_is_shown_by_pabak_and_the_specific_agreements():
    """Both readers call almost everything fake: 90% agreement, kappa about 0, PABAK 0.8; the agreement on "fake" is
    high and on "real" nil, which is the honest description."""
    first = np.array([0] * 90 + [1] * 5 + [0] * 5)
    second = np.array([0] * 90 + [0] * 5 + [1] * 5)
    kappa = cohen_kappa_score(first, second)
    assert abs(kappa) < 0.1
    measures = measures_from_patterns(np.bincount(first + second, minlength=3), raters=2)
    assert measures["pabak"] == pytest.approx(0.8)
    assert measures["positive_agreement"] == pytest.approx(180 / 190)
    assert measures["negative_agreement"] == 0.0


def test_many_readers_use_pairwise_agreement():
    """Three readers: a case with votes (real, real, fake) has 1 agreeing pair of 3."""
    measures = measures_from_patterns(np.array([0, 0, 1, 0]), raters=3)
    assert measures["observed"] == pytest.approx(1 / 3)
    assert measures["negative_agreement"] == pytest.approx(2 / 4)  # 2 ordered agreeing "real" pairs of 4
    assert measures["positive_agreement"] == pytest.approx(0.0)


def test_intervals_contain_the_estimate_and_narrow_with_more_cases():
    rng = np.random.default_rng(1)
    small = agreement_measures(np.repeat([0, 1, 2], [20, 5, 25]), 2, rng)
    large = agreement_measures(np.repeat([0, 1, 2], [200, 50, 250]), 2, rng)
    for name in ("pabak", "positive_agreement", "negative_agreement"):
        assert small[name]["ci_low"] <= small[name]["estimate"] <= small[name]["ci_high"]
        assert large[name]["estimate"] == pytest.approx(small[name]["estimate"])
        width = lambda row: row["ci_high"] - row["ci_low"]  # noqa: E731
        assert width(large[name]) < width(small[name]) / 2


def test_intra_reader_kappa_per_reader_and_mean_with_intervals():
    rng = np.random.default_rng(3)
    reader = np.repeat([0, 1, 2], 60)
    first = rng.random(180) < 0.5
    flip = rng.random(180) < np.repeat([0.05, 0.2, 0.5], 60)  # reader 2 answers the repeat at random half the time
    repeat = np.where(flip, rng.random(180) < 0.5, first)
    result = intra_reader_agreement(reader, first, repeat, n_readers=4, seed=1)
    consistent, middling, erratic, absent = result["readers"]
    assert consistent["kappa"] > middling["kappa"] > erratic["kappa"]
    for row in (consistent, middling, erratic):
        assert row["ci_low"] <= row["kappa"] <= row["ci_high"]
        first_r, repeat_r = first[reader == row["reader"]], repeat[reader == row["reader"]]
        assert row["kappa"] == pytest.approx(cohen_kappa_score(first_r, repeat_r))
    assert absent == {"reader": 3, "n_pairs": 0, "agreement": None, "kappa": None, "ci_low": None, "ci_high": None}
    mean = result["mean"]
    assert mean["readers"] == 3
    assert mean["kappa"] == pytest.approx(np.mean([consistent["kappa"], middling["kappa"], erratic["kappa"]]))
    assert mean["ci_low"] < mean["kappa"] < mean["ci_high"]
    assert mean["ci_high"] - mean["ci_low"] > consistent["ci_high"] - consistent["ci_low"]
