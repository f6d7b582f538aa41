"""ROC from confidence ratings (the fake-score, ``mrmc.fom.fake_score``): the AUC from score histograms, and each
reader's AUC with DeLong's interval."""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from .indexing import unique_inverse
from .mrmc import fom as mrmc_fom
from .proportions import ALPHA, ratio

SCORE_LEVELS = 10  # the fake-score's 1..10


def auc_from_histograms(real_counts: np.ndarray, fake_counts: np.ndarray) -> np.ndarray:
    """ROC AUC from score histograms (counts per score level on the last axis), vectorised over leading axes.

    The area under the empirical ROC curve equals the Mann-Whitney probability that a fake image scores above a real
    one, ties counting half: sum over levels of fakes(level) * (reals below + reals at / 2) / (fakes * reals). This is
    what sklearn's ``roc_auc_score`` returns on the individual votes (the tests hold it to that), without one call per
    reader and generator. Nan where either class is empty."""
    real_counts = np.asarray(real_counts, dtype=float)
    fake_counts = np.asarray(fake_counts, dtype=float)
    reals_below = np.cumsum(real_counts, axis=-1) - real_counts
    wins = (fake_counts * (reals_below + real_counts / 2)).sum(axis=-1)
    return ratio(wins, fake_counts.sum(axis=-1) * real_counts.sum(axis=-1))


def delong_intervals(reader: np.ndarray, case: np.ndarray, source: np.ndarray, score: np.ndarray, *, n_readers: int,
                     real_sources: list[int], generators: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each reader's AUC per (generator + all generators) with DeLong's 95% interval (the structural-components
    variance pROC's ``ci.auc(method = "delong")`` uses; the R cross-check test holds them equal), clipped to [0, 1].
    One entry per rated vote (``score`` its fake-score); arrays of shape (R, G + 1), nan where a class is missing."""
    cases, case_index = unique_inverse(case)
    scores_by_case = np.full((n_readers, len(cases)), np.nan)
    scores_by_case[reader, case_index] = score
    case_source = np.zeros(len(cases), dtype=np.int64)
    case_source[case_index] = source
    case_is_real = np.isin(case_source, real_sources)
    members = [case_is_real | (case_source == g) for g in generators] + [np.ones(len(cases), dtype=bool)]
    scores = np.where(np.stack(members)[None], scores_by_case[:, None, :], np.nan)  # (R, G + 1, K)
    areas, variance = mrmc_fom.auc_and_delong_variance(scores, (~case_is_real).astype(np.int64))
    half = norm.ppf(1 - ALPHA / 2) * np.sqrt(np.clip(variance, 0, None))
    return areas, np.clip(areas - half, 0, 1), np.clip(areas + half, 0, 1)
