"""The non-inferiority / equivalence test checked against the truth, for both endpoints: simulated studies
(``mrmc.simulate``) whose generator lies exactly at the margin (a null: the share that passes is the type I error,
which must not exceed alpha) or exactly as real as the real images (the share that passes is the power at a true
difference of 0).

* **called-real rate**: the simulator's population rates are closed form, so the generator's separation that puts
  its rate at a chosen value is solved exactly (``separation_for_rate``).
* **AUC**: the population AUC (the expected per-reader empirical AUC of Real against the generator, ties counted
  half, over the populations of readers and cases) is not closed form: the ratings are the discrete 1-10 fake-score
  and each reader has their own criterion and skill. Given one reader's criterion c and fake shift u, the ten score
  bins of a real and of a fake image have normal probabilities, so that reader's AUC is exact; the average over c and
  u (both normal) is a two-dimensional Gauss-Hermite quadrature (``population_auc``; 48 nodes a side agree with 96 to
  1e-12, and the simulator's own studies agree within their Monte Carlo error, ``tests/analysis``). The separation
  that puts the population AUC at a target is found by bisection (``separation_for_auc``; to 1e-12 in AUC).
  The simulated studies carry two identical generators and the verdict read is G1's: the AUC analysis needed two
  when this was validated (a one-generator study now gets its AUC rows too), and the figures quoted here, in
  ``equivalence`` and in ``bench/bench_equivalence.py`` come from that design. G1's AUC, standard error and
  components use the real images and G1's fakes only, but for the jackknife's factor (K - 1) / K, K counting G2's
  fakes too: a one-generator study's Var and Cov2 are (K1 - 1) / K1 over that (a fraction of a percent).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import ndtr
from scipy.stats import norm

from .equivalence import Margin, verdicts
from .mrmc.simulate import SimulationConfig, simulate_study, true_called_real_rates
from .mrmc.study import study_mrmc

QUADRATURE_NODES = 48
AUC_TOLERANCE = 1e-9  # the solved separation's population AUC lies this close to its target (asserted)
SCORE_STEPS = np.arange(-4, 5)  # the fake-score's 9 cut points on z - c, in confidence steps (see simulate.py)


def separation_for_rate(config: SimulationConfig, rate: float) -> float:
    """The fake mean (latent scale) that gives a generator the population called-real rate ``rate``."""
    spread = np.sqrt(config.criterion_sd**2 + config.case_sd**2 + config.residual_sd**2 + config.reader_sd**2
                     + config.reader_generator_sd**2)
    return float(config.criterion_mean - spread * norm.ppf(rate))


def _normal_nodes(mean: float, sd: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights (summing to 1) for an expectation over N(mean, sd^2)."""
    x, w = hermegauss(nodes)
    return mean + sd * x, w / w.sum()


def _bin_probabilities(cuts: np.ndarray, mean: np.ndarray | float, sd: float) -> np.ndarray:
    """P(latent in each of the 10 score bins), the latent N(mean, sd^2), ``cuts`` (..., 9) ascending."""
    cdf = ndtr((cuts - np.asarray(mean)[..., None]) / sd)
    zeros, ones = np.zeros(cdf.shape[:-1] + (1,)), np.ones(cdf.shape[:-1] + (1,))
    return np.diff(np.concatenate([zeros, cdf, ones], axis=-1), axis=-1)


def population_auc(config: SimulationConfig, separation: float, nodes: int = QUADRATURE_NODES) -> float:
    """The population AUC of Real against a generator whose fakes have latent mean ``separation``: the expected
    empirical (Wilcoxon, ties half) AUC of a random reader on random cases.

    A reader with criterion c and fake shift u (skill plus generator-specific skill) scores an image in bin b of
    1-10 when its latent z lies between the cuts c + step x (-4, ..., 4); a real image's z is N(0, s^2), a fake's
    N(separation + u, s^2), s^2 = case_sd^2 + residual_sd^2, independent across cases. That reader's AUC is
    sum_b P(fake in b) [P(real below b) + P(real in b) / 2], exact; c and u are averaged by Gauss-Hermite."""
    spread = float(np.hypot(config.case_sd, config.residual_sd))
    criterion, w_criterion = _normal_nodes(config.criterion_mean, config.criterion_sd, nodes)
    shift, w_shift = _normal_nodes(separation, float(np.hypot(config.reader_sd, config.reader_generator_sd)), nodes)
    cuts = criterion[:, None] + config.confidence_step * SCORE_STEPS[None, :]  # (C, 9)
    real = _bin_probabilities(cuts, 0.0, spread)  # (C, 10)
    fake = _bin_probabilities(cuts[:, None, :], shift[None, :], spread)  # (C, U, 10)
    below = np.cumsum(real, axis=-1) - real / 2  # P(real below b) + P(real in b) / 2
    per_reader = np.einsum("cub,cb->cu", fake, below)
    return float(w_criterion @ per_reader @ w_shift)


def separation_for_auc(config: SimulationConfig, auc: float, low: float = -10.0, high: float = 10.0) -> float:
    """The fake mean whose population AUC is ``auc``, by bisection (the AUC grows with the separation: each
    reader's fake scores grow stochastically)."""
    if not population_auc(config, low) < auc < population_auc(config, high):
        raise ValueError(f"No separation in [{low}, {high}] gives a population AUC of {auc}.")
    for _ in range(100):
        middle = (low + high) / 2
        if population_auc(config, middle) < auc:
            low = middle
        else:
            high = middle
        if high - low < 1e-13:
            break
    return (low + high) / 2


def config_at_difference(config: SimulationConfig, difference: float,
                         endpoint: str = "called_real") -> SimulationConfig:
    """``config`` with the generator at a true ``difference``: for the called-real rate its population rate is the
    real images' plus ``difference`` (one generator); for the AUC its population AUC is 0.5 + ``difference`` (two
    identical generators, the design the quoted figures come from; see the module)."""
    if endpoint == "auc":
        target = 0.5 + difference
        separation = separation_for_auc(config, target)
        shifted = replace(config, separations=(separation, separation))
        achieved = population_auc(shifted, separation)
        assert abs(achieved - target) < AUC_TOLERANCE, f"population AUC {achieved} is not the target {target}"
        return shifted
    real_rate = float(true_called_real_rates(config)[0])
    separation = separation_for_rate(config, real_rate + difference)
    shifted = replace(config, separations=(separation,))
    assert abs(true_called_real_rates(shifted)[1] - (real_rate + difference)) < 1e-9
    return shifted


def pass_rate(config: SimulationConfig, plan: Margin, n_studies: int, seed: int = 0) -> float:
    """The share of ``n_studies`` simulated studies whose generator (G1) passes ``plan``."""
    plan.check()
    auc = plan.endpoint == "auc"
    passed = 0
    for index in range(n_studies):
        study = simulate_study(config, [seed, index])
        score = study.fake_score if auc else np.full(len(study.reader), np.nan)  # nan: skip the AUC analysis
        result = study_mrmc(study.reader, study.case, study.source, study.called_real, score,
                            readers=study.readers, sources=config.sources, source_is_real=config.source_is_real,
                            per_reader=False)
        found = verdicts(result.as_dict(), plan, primary=["G1"])["verdicts"]
        passed += found[0]["outcome"] == "passes"
    return passed / n_studies


def null_differences(plan: Margin) -> list[float]:
    """The true differences at the margin that the test must reject no more often than alpha: the called-real rate
    at -margin, the AUC at 0.5 + margin; equivalence adds the other side."""
    first = -plan.margin if plan.endpoint == "called_real" else plan.margin
    return [first, -first] if plan.test == "equivalence" else [first]


def type_i_and_power(config: SimulationConfig, plan: Margin, n_studies: int, seed: int = 0) -> dict[str, float]:
    """Type I error (true difference at the margin; the worse of the two sides for equivalence) and power at a true
    difference of 0 (the AUC at 0.5)."""
    at_margin = [pass_rate(config_at_difference(config, difference, plan.endpoint), plan, n_studies, seed + side)
                 for side, difference in enumerate(null_differences(plan))]
    return {"type_i_error": max(at_margin),
            "power_at_zero": pass_rate(config_at_difference(config, 0.0, plan.endpoint), plan, n_studies, seed + 2)}


def power_in_simulation(plan: Margin, readers: int, cases: int, n_studies: int, seed: int = 0,
                        base: SimulationConfig | None = None) -> float:
    """The share of simulated studies with ``readers`` x ``cases`` (the real images and one generator's fakes, half
    each) that pass ``plan`` when the generator is truly as real as the real images: what a proposal promises."""
    base = base or SimulationConfig()
    real = cases // 2
    config = replace(base, n_readers=readers, n_real=real, n_fake=cases - real)
    return pass_rate(config_at_difference(config, 0.0, plan.endpoint), plan, n_studies, seed)
