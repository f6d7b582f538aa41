"""Readers x cases for a pre-registered non-inferiority / equivalence plan (``analysis.equivalence``), from a pilot's
OR variance components, and the pilots themselves.

The power is that of the very test the verdict runs: the estimate's RRRC standard error with df J - 1 and one-sided
alpha (``equivalence.power_at_zero``: a noncentral t, or both one-sided tests for equivalence), at a true difference
of 0. With J readers and K cases, a pilot on K* cases,

    se^2 = 2 [Var(T*R) + (K*/K) (Var - Cov1 + (J - 1) max(Cov2 - Cov3, 0))] / J

(Hillis, Obuchowski & Berbaum 2011: the variance of a difference of two modalities, Var(T*R) floored at 0) for the
called-real endpoint, the generator's rate minus the real images'. The AUC endpoint is **one** modality's AUC
against 0.5, not a difference: se^2 = [Var(R) + (K*/K) (Var + (J - 1) Cov2)] / J with that modality's own Var(R) (the
readers' AUCs' spread beyond case noise), Var and Cov2 (``one_modality_pilot`` stores these, halved, with Cov1 = Cov3
= 0, so the same formula gives it).

Pilots (``simulated_pilot``), each from one large seeded simulated study (``mrmc.simulate`` at its defaults):
computed, not typed in. The literature's AUC default, Van Dyke et al. (1993; ``VANDYKE_AUC``), is a difference of two
modalities near AUC 0.9: for one generator's AUC near 0.5 (readers differ far more there) its proposal of 5 readers x
28 cases and 10 x 21 at margin 0.10 passed 14% and 19% of simulated studies at AUC 0.5, not the 80% it promised
(``bench/bench_equivalence.py --proposal``).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .equivalence import Margin, power_at_zero
from .equivalence_simulation import config_at_difference
from .mrmc.or_analysis import OrResult
from .mrmc.power import PilotComponents
from .mrmc.simulate import SimulationConfig, simulate_study
from .mrmc.study import study_mrmc

TARGET_POWER = 0.8
READER_COUNTS = (3, 5, 8, 10, 15, 20)
MAX_CASES = 20_000
# Van Dyke et al. (1993): OR components of the difference of two modalities' AUCs (5 readers, 114 cases;
# tests/data/vandyke-reference.md), kept to show what the literature default promised (see the module).
VANDYKE_AUC = PilotComponents(var_tr=0.00020040, var_error=0.00080229, cov1=0.00034661, cov2=0.00034407,
                              cov3=0.00023903, n_cases=114)
PILOT_READERS, PILOT_CASES, PILOT_SEED = 300, 200, 26  # 300 readers: Var(R), Var(T*R) to about 8%
PILOTS = {
    "auc": "the project's reader simulator at its defaults (analysis/mrmc/simulate.py: a generator whose population "
           "AUC against the real images is 0.5, one seeded study of 300 readers x 400 cases)",
    "called_real": "the project's reader simulator at its defaults (analysis/mrmc/simulate.py: a generator as often "
                   "called real as the real images, one seeded study of 300 readers x 400 cases)",
}


def one_modality_pilot(result: OrResult, modality: int, n_cases: int) -> PilotComponents:
    """The components of one modality's reader-averaged figure against a fixed value (see the module): Var(R) from
    that modality's MS(R) = Var(R) + Var - Cov2, stored halved with Cov1 = Cov3 = 0."""
    c = result.components
    var, cov2 = c.var_error_per_modality[modality], c.cov2_per_modality[modality]
    var_r = c.ms_r_per_modality[modality] - var + cov2
    return PilotComponents(var_tr=var_r / 2, var_error=var / 2, cov1=0.0, cov2=cov2 / 2, cov3=0.0, n_cases=n_cases)


@lru_cache(maxsize=2)
def simulated_pilot(endpoint: str) -> PilotComponents:
    """The named pilot (``PILOTS``) of ``endpoint``, fixed by its seed: one simulated study of ``PILOT_READERS``
    readers x (``PILOT_CASES`` real images + as many fakes) with the generator truly as real as the real images
    (the called-real rate the real images', or a population AUC of 0.5: the components depend on where the rates
    lie). Called-real: the difference's components. AUC: G1's own (of ``config_at_difference``'s two identical
    generators)."""
    if endpoint not in PILOTS:
        raise ValueError(f"No pilot for the endpoint {endpoint!r}.")
    base = SimulationConfig(n_readers=PILOT_READERS, n_real=PILOT_CASES, n_fake=PILOT_CASES)
    config = config_at_difference(base, 0.0, endpoint)
    study = simulate_study(config, PILOT_SEED)
    score = study.fake_score if endpoint == "auc" else np.full(len(study.reader), np.nan)
    result = study_mrmc(study.reader, study.case, study.source, study.called_real, score, readers=study.readers,
                        sources=config.sources, source_is_real=config.source_is_real, per_reader=False)
    if endpoint == "auc":
        return one_modality_pilot(result.auc, 0, 2 * PILOT_CASES)
    return PilotComponents.from_components(result.called_real.components, 2 * PILOT_CASES)


def standard_error(pilot: PilotComponents, readers: int, cases: int) -> float:
    """The RRRC standard error of the estimate with ``readers`` x ``cases`` (see the module)."""
    scale = pilot.n_cases / cases
    den = max(pilot.var_tr, 0.0) + scale * (pilot.var_error - pilot.cov1
                                            + (readers - 1) * max(pilot.cov2 - pilot.cov3, 0.0))
    return float(np.sqrt(2 * den / readers))


def power(pilot: PilotComponents, plan: Margin, readers: int, cases: int) -> float:
    """The verdict's power to pass a generator truly as real as the real images (difference 0, AUC 0.5)."""
    return power_at_zero(plan.margin, standard_error(pilot, readers, cases), readers - 1, plan.alpha, plan.test)


def cases_needed(pilot: PilotComponents, plan: Margin, readers: int, target: float = TARGET_POWER,
                 max_cases: int = MAX_CASES) -> int | None:
    """The fewest cases (real + one generator's fakes) giving ``target`` power with ``readers`` readers, or None
    when even ``max_cases`` fall short (the readers' spread alone sets a ceiling). Power grows with the cases, so a
    bisection finds it."""
    if power(pilot, plan, readers, max_cases) < target:
        return None
    low, high = 1, max_cases
    while high - low > 1:
        middle = (low + high) // 2
        if power(pilot, plan, readers, middle) >= target:
            high = middle
        else:
            low = middle
    return high


def proposal_rows(pilot: PilotComponents, plan: Margin, reader_counts=READER_COUNTS) -> list[dict]:
    """For each number of readers, the cases for ``TARGET_POWER`` (None: not reachable) and the power they give."""
    rows = []
    for readers in reader_counts:
        cases = cases_needed(pilot, plan, readers)
        rows.append({"readers": readers, "cases": cases,
                     "power": None if cases is None else power(pilot, plan, readers, cases)})
    return rows
