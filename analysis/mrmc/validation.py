"""Measure the analysis against the truth: many simulated null studies (two equal generators), the RRRC comparison's
type I error and interval coverage, next to the naive pooled tests that treat every vote as independent.

The naive tests are what the results page did before the MRMC analysis: a two-proportion test (statsmodels, Wald)
on the pooled votes for the called-real rates, a Wilson interval for one rate, and for the AUC the DeLong test with
every vote taken as its own case.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, test_proportions_2indep

from . import fom
from .simulate import SimulatedStudy, SimulationConfig, simulate_study
from .study import study_mrmc


@dataclass(frozen=True)
class NullCheck:
    """One null study: for each figure, whether each test rejected at alpha and whether each interval covered."""

    rrrc_rate_reject: bool
    rrrc_rate_covers: bool  # the difference G1 - G2's CI covers 0
    rrrc_single_covers: bool  # G1's called-real rate CI covers the population rate
    rrrc_auc_reject: bool
    rrrc_auc_covers: bool
    naive_rate_reject: bool
    naive_rate_covers: bool
    naive_single_covers: bool  # pooled Wilson interval
    naive_auc_reject: bool
    naive_auc_covers: bool


def _pair(differences, first: str, second: str):
    return next(d for d in differences if d.first == first and d.second == second)


def naive_auc_difference(study: SimulatedStudy, first: int, second: int, alpha: float) -> tuple[float, float, float]:
    """p and CI of AUC(first) - AUC(second) with every vote as an independent case (DeLong)."""
    is_real = study.source == 0
    votes = np.arange(len(study.source))
    scores = np.full((1, 2, len(votes)), np.nan)
    for column, generator in enumerate((first, second)):
        member = is_real | (study.source == generator)
        scores[0, column, member] = study.fake_score[member]
    truth = (~is_real).astype(np.int64)
    areas = fom.auc(scores, truth)[0]
    covariance = fom.delong_covariance(scores, truth)[0, :, 0, :]
    difference = areas[0] - areas[1]
    se = np.sqrt(max(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1], 0.0))
    from scipy.special import ndtr, ndtri

    p_value = 2 * ndtr(-abs(difference) / se) if se > 0 else 1.0
    half = ndtri(1 - alpha / 2) * se
    return float(p_value), difference - half, difference + half


def check_null_study(study: SimulatedStudy, alpha: float = 0.05, pairwise: str = "separate") -> NullCheck:
    """Run the MRMC analysis and the naive tests on one study whose generators G1 and G2 are equal."""
    config = study.config
    result = study_mrmc(study.reader, study.case, study.source, study.called_real, study.fake_score,
                        readers=study.readers, sources=config.sources, source_is_real=config.source_is_real,
                        alpha=alpha, pairwise=pairwise)
    g1, g2 = config.sources[1], config.sources[2]
    rate = _pair(result.called_real.rrrc.differences, g1, g2)
    single = result.called_real.rrrc.modalities[1]
    area = _pair(result.auc.rrrc.differences, g1, g2)
    first, second = study.source == 1, study.source == 2
    x1, n1 = int(study.called_real[first].sum()), int(first.sum())
    x2, n2 = int(study.called_real[second].sum()), int(second.sum())
    naive_p = test_proportions_2indep(x1, n1, x2, n2, method="wald").pvalue
    naive_low, naive_high = confint_proportions_2indep(x1, n1, x2, n2, method="wald", alpha=alpha)
    wilson_low, wilson_high = proportion_confint(x1, n1, alpha=alpha, method="wilson")
    auc_p, auc_low, auc_high = naive_auc_difference(study, 1, 2, alpha)
    truth = study.true_called_real[1]
    return NullCheck(
        rrrc_rate_reject=rate.p_value < alpha, rrrc_rate_covers=rate.ci_low <= 0 <= rate.ci_high,
        rrrc_single_covers=single.ci_low <= truth <= single.ci_high,
        rrrc_auc_reject=area.p_value < alpha, rrrc_auc_covers=area.ci_low <= 0 <= area.ci_high,
        naive_rate_reject=bool(naive_p < alpha), naive_rate_covers=bool(naive_low <= 0 <= naive_high),
        naive_single_covers=bool(wilson_low <= truth <= wilson_high),
        naive_auc_reject=auc_p < alpha, naive_auc_covers=bool(auc_low <= 0 <= auc_high),
    )


def null_rates(config: SimulationConfig, n_studies: int, seed: int = 0, alpha: float = 0.05,
               pairwise: str = "separate") -> dict[str, float]:
    """The share of ``n_studies`` null studies in which each test rejected / each interval covered."""
    if len(config.separations) < 2 or config.separations[0] != config.separations[1]:
        raise ValueError("A null check needs two generators with equal separations first.")
    checks = [check_null_study(simulate_study(config, [seed, index]), alpha, pairwise) for index in range(n_studies)]
    return {name: float(np.mean([getattr(check, name) for check in checks])) for name in NullCheck.__dataclass_fields__}
