"""Does a generator pass for real? The pre-registered non-inferiority / equivalence test (issue 26, point 1)."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from analysis.equivalence import Margin, PlanError, power_at_zero, verdict, verdicts
from analysis.equivalence_simulation import config_at_difference, population_auc, separation_for_auc, type_i_and_power
from analysis.mrmc import fom
from analysis.mrmc.simulate import SimulationConfig, simulate_study, true_called_real_rates
from analysis.mrmc.study import study_mrmc

PLAN = Margin(endpoint="called_real", test="non_inferiority", margin=0.10, alpha=0.05)


def test_a_tight_interval_inside_the_margin_passes_and_says_so_in_the_reviewers_words():
    found = verdict("G1", -0.02, 0.02, 20.0, plan=PLAN, analysis="RRRC", readers=8)
    assert found.outcome == "passes"
    assert found.sentence == "passes (non-inferior within 0.10, RRRC)"
    # the one-sided p is the t test of d against -margin
    assert found.p_value == pytest.approx(stats.t.sf((-0.02 + 0.10) / 0.02, 20))
    assert found.ci_low == pytest.approx(-0.02 - stats.t.ppf(0.95, 20) * 0.02)  # the 90% interval


def test_an_interval_wholly_below_the_margin_fails():
    found = verdict("G1", -0.30, 0.05, 20.0, plan=PLAN, analysis="RRRC", readers=8)
    assert found.outcome == "fails" and found.sentence.startswith("fails")


def test_a_wide_interval_is_inconclusive_with_the_power_it_had_not_called_indistinguishable():
    found = verdict("G1", 0.0, 0.08, 4.0, plan=PLAN, analysis="RRRC", readers=5)
    assert found.outcome == "inconclusive"
    assert found.sentence.startswith("inconclusive: the interval crosses the margin 0.10")
    assert f"{found.power_at_zero:.2f}" in found.sentence
    assert 0 < found.power_at_zero < 0.3


def test_the_power_at_zero_is_the_noncentral_ts():
    for se, df in ((0.04, 6.0), (0.03, 20.0), (0.05, 40.0)):
        exact = stats.nct.sf(stats.t.ppf(0.95, df), df, 0.10 / se)
        assert power_at_zero(0.10, se, df, 0.05, "non_inferiority") == pytest.approx(exact, abs=1e-6)


def test_the_auc_endpoint_passes_below_half_plus_the_margin():
    plan = Margin(endpoint="auc", margin=0.10)
    assert plan.criterion == "AUC at most 0.60"
    assert verdict("G1", 0.52, 0.02, 30.0, plan=plan, analysis="RRRC", readers=6).outcome == "passes"
    assert verdict("G1", 0.80, 0.03, 30.0, plan=plan, analysis="RRRC", readers=6).outcome == "fails"
    assert verdict("G1", 0.58, 0.05, 30.0, plan=plan, analysis="RRRC", readers=6).outcome == "inconclusive"


def test_equivalence_needs_both_one_sided_tests():
    plan = Margin(test="equivalence", margin=0.10)
    assert verdict("G1", 0.0, 0.02, 30.0, plan=plan, analysis="RRRC", readers=6).outcome == "passes"
    # non-inferior, but called real far more often than real images: not equivalent
    assert verdict("G1", 0.30, 0.02, 30.0, plan=plan, analysis="RRRC", readers=6).outcome == "fails"
    assert verdict("G1", 0.30, 0.02, 30.0, plan=PLAN, analysis="RRRC", readers=6).outcome == "passes"


def test_a_zero_width_interval_gets_no_test_with_the_reason():
    found = verdict("G1", 0.0, 0.0, None, plan=PLAN, analysis="FRRC", readers=2)
    assert found.outcome == "no test" and "zero width" in found.sentence and found.p_value is None


@pytest.mark.parametrize("bad", [
    dict(margin=0.0), dict(margin=1.0), dict(margin=-0.1), dict(margin=1.5), dict(margin=float("nan")),
    dict(alpha=0.0), dict(alpha=0.5), dict(endpoint="accuracy"), dict(test="superiority"),
])
def test_a_plan_outside_its_range_is_refused_with_a_message(bad):
    with pytest.raises(PlanError) as caught:
        Margin(**bad).check()
    assert "must lie strictly between" in str(caught.value) or "is one of" in str(caught.value)


def _analysed(config: SimulationConfig, seed: int, n_readers: int | None = None):
    study = simulate_study(config, seed)
    keep = np.ones(len(study.reader), bool) if n_readers is None else study.reader < n_readers
    return study_mrmc(study.reader[keep], study.case[keep], study.source[keep], study.called_real[keep],
                      study.fake_score[keep], readers=study.readers, sources=config.sources,
                      source_is_real=config.source_is_real).as_dict()


def test_verdicts_use_rrrc_with_three_readers_and_frrc_saying_so_with_fewer():
    config = SimulationConfig(n_readers=4, n_real=40, n_fake=40, separations=(0.6, 1.4))
    found = verdicts(_analysed(config, 3), PLAN)
    assert found["analysis"] == "RRRC" and [v["generator"] for v in found["verdicts"]] == ["G1", "G2"]
    assert all(v["analysis"] == "RRRC" for v in found["verdicts"]) and found["note"] == ""
    found = verdicts(_analysed(config, 3, n_readers=2), PLAN, primary=["G2"])
    assert found["analysis"] == "FRRC" and [v["generator"] for v in found["verdicts"]] == ["G2"]
    assert "these readers only" in found["note"] and "these readers only" in found["verdicts"][0]["sentence"]
    auc = verdicts(_analysed(config, 3), Margin(endpoint="auc", margin=0.1))
    assert [v["endpoint"] for v in auc["verdicts"]] == ["auc", "auc"]


def test_the_simulation_puts_the_generator_exactly_at_the_margin():
    config = config_at_difference(SimulationConfig(), -0.10)
    rates = true_called_real_rates(config)
    assert rates[1] - rates[0] == pytest.approx(-0.10)


def test_type_i_error_at_the_margin_does_not_exceed_alpha_in_simulated_studies():
    """400 null studies at the margin (5 readers x 80 cases): the pass rate is the type I error; it stays within
    two simulation standard errors of alpha 0.05 (the 2,000-study figure is in bench/bench_equivalence.py)."""
    studies = 400
    found = type_i_and_power(SimulationConfig(n_readers=5, n_real=40, n_fake=40), PLAN, studies, seed=7)
    assert found["type_i_error"] <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / studies)
    assert found["power_at_zero"] > found["type_i_error"]


AUC_PLAN = Margin(endpoint="auc", test="non_inferiority", margin=0.10, alpha=0.05)


@pytest.mark.parametrize("target", [0.4, 0.5, 0.6])
def test_the_auc_solver_puts_the_population_auc_on_its_target(target):
    config = config_at_difference(SimulationConfig(), target - 0.5, "auc")
    separation = config.separations[0]
    assert config.separations == (separation, separation)  # two identical generators: the AUC analysis needs two
    assert population_auc(config, separation) == pytest.approx(target, abs=1e-9)
    assert separation == pytest.approx(separation_for_auc(SimulationConfig(), target))
    # the quadrature has converged: a quarter of the nodes gives the same AUC
    assert population_auc(config, separation, nodes=12) == pytest.approx(target, abs=1e-9)


def test_the_ratings_are_discrete_so_no_separation_is_not_auc_one_half():
    """The 1-10 fake-score's bins sit at each reader's own criterion, so equal latent means do not give AUC 0.5
    exactly: the solver, not a zero separation, sets the truth."""
    assert population_auc(SimulationConfig(), 0.0) == pytest.approx(0.5006, abs=1e-4)


def test_the_population_auc_is_what_simulated_readers_score_on_average():
    """40 studies of 30 readers x (1,000 real + 1,000 fakes) at a population AUC of 0.6: the mean per-reader
    empirical AUC lies within 4 of its standard errors (about 0.003) of the truth."""
    config = config_at_difference(SimulationConfig(n_readers=30, n_real=1000, n_fake=1000), 0.10, "auc")
    config = replace(config, separations=config.separations[:1])
    cases = config.n_real + config.n_fake
    means = []
    for seed in range(40):
        study = simulate_study(config, [26, seed])
        scores = study.fake_score.reshape(config.n_readers, 1, cases)
        means.append(np.mean(fom.auc(scores, study.source[:cases] > 0)))
    se = np.std(means, ddof=1) / math.sqrt(len(means))
    assert se < 0.005
    assert abs(np.mean(means) - 0.6) < 4 * se


def test_auc_type_i_error_at_the_margin_does_not_exceed_alpha_in_simulated_studies():
    """400 null studies at AUC 0.6 (5 readers x 80 cases of real + G1, and G2's 40 fakes the verdict does not
    use): the share that passes stays within two simulation standard errors of alpha 0.05 (bench: 2,000 each)."""
    studies = 400
    found = type_i_and_power(SimulationConfig(n_readers=5, n_real=40, n_fake=40), AUC_PLAN, studies, seed=7)
    assert found["type_i_error"] <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / studies)
    assert found["power_at_zero"] > found["type_i_error"]
