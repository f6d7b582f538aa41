"""A seeded simulator of reader studies in the platform's split design, to check the statistics against the truth.

Each reader j reads every case k: the real images (shared by every generator) and each generator's own fakes. A
latent "how fake does it look" value

    z_jk = mu_s(k) + [k fake] (R_j + RG_jg) + C_k + E_jk

with mu_s the source's mean (0 for Real, ``separations[g]`` for generator g), R_j the reader's skill at seeing fakes,
RG_jg its generator-specific part, C_k the case's own look (shared by every reader: the crossed case effect) and E_jk
the reader x case residual. The reader answers "fake" when z_jk exceeds their own criterion c_j ~ N(criterion_mean,
criterion_sd) (reader-specific response bias), with a confidence of 1-5 from how far z_jk is from c_j.

The population truths follow in closed form: a source's called-real rate, averaged over readers and cases, is
Phi((criterion_mean - mu_s) / sqrt(criterion_sd^2 + [fake] (reader_sd^2 + reader_generator_sd^2) + case_sd^2
+ residual_sd^2)); two generators with equal parameters have equal rates and AUCs (a null).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from . import fom


@dataclass(frozen=True)
class SimulationConfig:
    n_readers: int = 5
    n_real: int = 60
    n_fake: int = 50  # per generator
    separations: tuple[float, ...] = (0.6, 0.6)  # each generator's fake mean on the latent scale (Real at 0)
    reader_sd: float = 0.3
    reader_generator_sd: float = 0.15
    case_sd: float = 0.8
    residual_sd: float = 0.6
    criterion_mean: float = 0.5
    criterion_sd: float = 0.4
    confidence_step: float = 0.4  # |z - c| past 1, 2, 3, 4 steps raises the confidence from 1 up to 5
    generator_names: tuple[str, ...] = field(default=())

    @property
    def sources(self) -> list[str]:
        names = list(self.generator_names) or [f"G{g + 1}" for g in range(len(self.separations))]
        return ["Real", *names]

    @property
    def source_is_real(self) -> list[bool]:
        return [True] + [False] * len(self.separations)


@dataclass(frozen=True)
class SimulatedStudy:
    """One vote per reader and case, as the per-vote arrays ``study_mrmc`` takes, and the population truths."""

    config: SimulationConfig
    reader: np.ndarray
    case: np.ndarray
    source: np.ndarray
    called_real: np.ndarray
    confidence: np.ndarray
    fake_score: np.ndarray
    true_called_real: np.ndarray  # per source, averaged over the reader and case populations

    @property
    def readers(self) -> list[str]:
        return [f"R{r + 1}" for r in range(self.config.n_readers)]


def true_called_real_rates(config: SimulationConfig) -> np.ndarray:
    """Each source's called-real rate in the population of readers and cases (closed form, see the module)."""
    base = config.criterion_sd**2 + config.case_sd**2 + config.residual_sd**2
    fake_extra = config.reader_sd**2 + config.reader_generator_sd**2
    real = norm.cdf(config.criterion_mean / np.sqrt(base))
    fakes = norm.cdf((config.criterion_mean - np.asarray(config.separations)) / np.sqrt(base + fake_extra))
    return np.concatenate([[real], fakes])


def simulate_study(config: SimulationConfig, seed: int | np.random.SeedSequence) -> SimulatedStudy:
    """One simulated study (every reader reads every case), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    n_generators = len(config.separations)
    case_source = np.concatenate([np.zeros(config.n_real, dtype=np.int64),
                                  np.repeat(np.arange(1, n_generators + 1), config.n_fake)])
    n_cases = len(case_source)
    mean = np.concatenate([[0.0], np.asarray(config.separations, dtype=float)])[case_source]
    is_fake = case_source > 0
    skill = rng.normal(0.0, config.reader_sd, config.n_readers)
    skill_by_generator = rng.normal(0.0, config.reader_generator_sd, (config.n_readers, n_generators + 1))
    criterion = rng.normal(config.criterion_mean, config.criterion_sd, config.n_readers)
    case_effect = rng.normal(0.0, config.case_sd, n_cases)
    residual = rng.normal(0.0, config.residual_sd, (config.n_readers, n_cases))
    reader_part = (skill[:, None] + skill_by_generator[:, case_source]) * is_fake[None, :]
    latent = mean[None, :] + reader_part + case_effect[None, :] + residual
    distance = latent - criterion[:, None]
    called_real = distance <= 0
    confidence = 1 + np.clip(np.floor(np.abs(distance) / config.confidence_step), 0, 4)
    fake_score = fom.fake_score(called_real, confidence)
    reader = np.repeat(np.arange(config.n_readers), n_cases)
    return SimulatedStudy(
        config=config, reader=reader, case=np.tile(np.arange(n_cases), config.n_readers),
        source=np.tile(case_source, config.n_readers), called_real=called_real.reshape(-1),
        confidence=confidence.reshape(-1), fake_score=fake_score.reshape(-1).astype(float),
        true_called_real=true_called_real_rates(config),
    )
