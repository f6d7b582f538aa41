"""The non-inferiority test of the called-real rate checked against the truth: simulated studies (``mrmc.simulate``)
whose generator's population called-real rate lies exactly at the margin below the real images' (a null: the share
that passes is the type I error, which must not exceed alpha) or equal to it (the share that passes is the power at a
true difference of 0).

The simulator's population rates are closed form, so the generator's separation that puts its rate at a chosen value
is solved exactly (``separation_for_rate``).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.stats import norm

from .equivalence import Margin, verdicts
from .mrmc.simulate import SimulationConfig, simulate_study, true_called_real_rates
from .mrmc.study import study_mrmc


def separation_for_rate(config: SimulationConfig, rate: float) -> float:
    """The fake mean (latent scale) that gives a generator the population called-real rate ``rate``."""
    spread = np.sqrt(config.criterion_sd**2 + config.case_sd**2 + config.residual_sd**2 + config.reader_sd**2
                     + config.reader_generator_sd**2)
    return float(config.criterion_mean - spread * norm.ppf(rate))


def config_at_difference(config: SimulationConfig, difference: float) -> SimulationConfig:
    """``config`` with one generator whose population called-real rate is the real images' plus ``difference``."""
    real_rate = float(true_called_real_rates(config)[0])
    separation = separation_for_rate(config, real_rate + difference)
    shifted = replace(config, separations=(separation,))
    assert abs(true_called_real_rates(shifted)[1] - (real_rate + difference)) < 1e-9
    return shifted


def pass_rate(config: SimulationConfig, plan: Margin, n_studies: int, seed: int = 0) -> float:
    """The share of ``n_studies`` simulated studies whose generator passes ``plan`` (called-real endpoint)."""
    if plan.endpoint != "called_real":
        raise ValueError("The simulation checks the called-real endpoint (its population rates are closed form).")
    passed = 0
    for index in range(n_studies):
        study = simulate_study(config, [seed, index])
        result = study_mrmc(study.reader, study.case, study.source, study.called_real,
                            np.full(len(study.reader), np.nan), readers=study.readers, sources=config.sources,
                            source_is_real=config.source_is_real)
        found = verdicts(result.as_dict(), plan)["verdicts"]
        passed += found[0]["outcome"] == "passes"
    return passed / n_studies


def type_i_and_power(config: SimulationConfig, plan: Margin, n_studies: int, seed: int = 0) -> dict[str, float]:
    """Type I error (true difference at the margin: -margin for non-inferiority; the worse of +-margin for
    equivalence) and power at a true difference of 0."""
    at_margin = [pass_rate(config_at_difference(config, -plan.margin), plan, n_studies, seed)]
    if plan.test == "equivalence":
        at_margin.append(pass_rate(config_at_difference(config, plan.margin), plan, n_studies, seed + 1))
    return {"type_i_error": max(at_margin),
            "power_at_zero": pass_rate(config_at_difference(config, 0.0), plan, n_studies, seed + 2)}
