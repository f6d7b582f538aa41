"""The readers x cases proposal for a pre-registered plan (issue 26, point 1) keeps its promise: simulated studies of
the proposed size, with the generator truly as real as the real images, pass about 80% of the time."""
from __future__ import annotations

import math

import pytest

from analysis.equivalence import Margin
from analysis.equivalence_power import (
    TARGET_POWER,
    VANDYKE_AUC,
    cases_needed,
    one_modality_pilot,
    simulated_pilot,
    standard_error,
)
from analysis.equivalence_simulation import config_at_difference, power_in_simulation
from analysis.mrmc import power as mrmc_power
from analysis.mrmc.simulate import SimulationConfig, simulate_study
from analysis.mrmc.study import study_mrmc

STUDIES = 300
# about 80% within 0.05, beyond two binomial standard errors of the simulation
SLACK = 0.05 + 2 * math.sqrt(TARGET_POWER * (1 - TARGET_POWER) / STUDIES)


def test_the_standard_error_from_a_studys_own_components_is_the_verdicts():
    """Planned with a study's own readers and cases, the proposal's standard error is the one its analysis reports:
    the difference's for the called-real rate, the one generator's AUC's (not a difference) for the AUC."""
    config = config_at_difference(SimulationConfig(n_readers=6, n_real=50, n_fake=50), 0.0, "auc")
    study = simulate_study(config, 3)
    result = study_mrmc(study.reader, study.case, study.source, study.called_real, study.fake_score,
                        readers=study.readers, sources=config.sources, source_is_real=config.source_is_real)
    auc_se = result.auc.rrrc.modalities[0].se
    assert standard_error(one_modality_pilot(result.auc, 0, 100), 6, 100) == pytest.approx(auc_se)
    config = config_at_difference(SimulationConfig(n_readers=6, n_real=50, n_fake=50), 0.0)
    study = simulate_study(config, 3)
    result = study_mrmc(study.reader, study.case, study.source, study.called_real, study.fake_score,
                        readers=study.readers, sources=config.sources, source_is_real=config.source_is_real)
    pilot = mrmc_power.PilotComponents.from_components(result.called_real.components, 100)
    assert standard_error(pilot, 6, 100) == pytest.approx(result.vs_real["RRRC"][0].se)


@pytest.mark.parametrize(("endpoint", "readers"), [("auc", 10), ("called_real", 20)])
def test_the_proposed_cases_pass_about_eighty_percent_of_simulated_studies(endpoint, readers):
    plan = Margin(endpoint=endpoint, margin=0.10, alpha=0.05)
    cases = cases_needed(simulated_pilot(endpoint), plan, readers)
    assert cases is not None
    share = power_in_simulation(plan, readers, cases, STUDIES, seed=11)
    assert abs(share - TARGET_POWER) <= SLACK, f"{readers} x {cases}: {share:.3f} of simulated studies passed"


def test_van_dykes_components_promised_far_more_than_an_auc_near_one_half_gives():
    """The literature default (a difference of two AUCs near 0.9) proposed 5 readers x 28 cases at margin 0.10:
    simulated studies of that size pass well under half the time, so the AUC pilot is the simulator's."""
    plan = Margin(endpoint="auc", margin=0.10, alpha=0.05)
    before = mrmc_power.cases_needed(VANDYKE_AUC, readers=5, effect_size=0.10, target=0.8, alpha=0.10)
    assert before.cases == 28
    assert power_in_simulation(plan, 5, before.cases, 200, seed=11) < 0.4
    assert cases_needed(simulated_pilot("auc"), plan, 5) is None  # 5 readers differ too much to reach 80%
