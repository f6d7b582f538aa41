"""The simulator, and the analysis measured against it: near-nominal error rates where the naive pooled tests are
not (a small run; bench/bench_mrmc.py runs 1,000 studies)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.mrmc.simulate import SimulationConfig, simulate_study, true_called_real_rates
from analysis.mrmc.study import study_mrmc
from analysis.mrmc.validation import null_rates


def test_the_same_seed_gives_the_same_study_and_the_design_is_split():
    config = SimulationConfig(n_readers=3, n_real=10, n_fake=8)
    first, again = simulate_study(config, 5), simulate_study(config, 5)
    np.testing.assert_array_equal(first.fake_score, again.fake_score)
    assert not np.array_equal(first.fake_score, simulate_study(config, 6).fake_score)
    assert len(first.reader) == 3 * (10 + 2 * 8)
    per_case = {case: set(first.source[first.case == case]) for case in np.unique(first.case)}
    assert all(len(sources) == 1 for sources in per_case.values())
    assert sorted(np.bincount(first.source[first.reader == 0]).tolist()) == [8, 8, 10]


def test_large_samples_recover_the_population_rates():
    config = SimulationConfig(n_readers=400, n_real=400, n_fake=400, separations=(0.3, 1.2))
    study = simulate_study(config, 1)
    observed = [study.called_real[study.source == s].mean() for s in range(3)]
    np.testing.assert_allclose(observed, true_called_real_rates(config), atol=0.03)
    assert observed[0] > observed[1] > observed[2]


def test_a_reader_who_leans_to_fake_calls_everything_fake():
    config = SimulationConfig(n_readers=4, criterion_mean=-20.0, criterion_sd=0.0)
    study = simulate_study(config, 2)
    assert not study.called_real.any()


@pytest.fixture(scope="module")
def small_run():
    return null_rates(SimulationConfig(), n_studies=200, seed=3)


def test_rrrc_type_i_error_is_near_nominal_and_the_naive_tests_are_not(small_run):
    """200 null studies: a binomial 95% range around 0.05 is about 0.02-0.08."""
    assert 0.015 <= small_run["rrrc_rate_reject"] <= 0.09
    assert 0.015 <= small_run["rrrc_auc_reject"] <= 0.09
    assert small_run["naive_rate_reject"] > 0.15
    assert small_run["naive_auc_reject"] > 0.15


def test_rrrc_intervals_cover_near_nominal_and_the_naive_ones_do_not(small_run):
    assert small_run["rrrc_rate_covers"] >= 0.91 and small_run["rrrc_auc_covers"] >= 0.91
    assert small_run["rrrc_single_covers"] >= 0.91
    assert small_run["naive_single_covers"] < 0.8 and small_run["naive_rate_covers"] < 0.85


def test_a_real_difference_is_found():
    config = SimulationConfig(n_readers=8, separations=(0.2, 1.4))
    result = study_mrmc(*_arrays(simulate_study(config, 4)), readers=[f"R{r}" for r in range(8)],
                        sources=config.sources, source_is_real=config.source_is_real)
    assert result.auc.rrrc.differences[0].p_value < 0.01
    assert result.auc.rrrc.differences[0].difference < 0


def _arrays(study):
    return study.reader, study.case, study.source, study.called_real, study.fake_score
