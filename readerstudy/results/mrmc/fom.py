"""Figures of merit per reader x modality, and their case-level influence (jackknife, DeLong), vectorised.

Every function takes a score array of shape ``(R, M, K)``: readers x modalities x cases, ``nan`` where reader r did
not score case k in modality m (the case is not part of that modality, as a generator's fakes are not part of
another generator's comparison, or the reader has not read it yet). Truth is ``(K,)``: 1 for a positive case (here a
generated image), 0 for a negative one (a real image).

The jackknife here is always over **all** K cases: leaving out case k changes only the figures that use it, the
others stay as they are. On a fully crossed design (every reader scores every case in every modality) this is the
jackknife of the OR-DBM MRMC software; on the split design of a reader study (real images shared by every generator,
each generator's fakes its own) it is the jackknife of a function of the whole case sample, so the covariance between
two generators' figures comes out of the shared real images and nothing else.

No Python loop runs per case: AUC structural components come from mid-ranks (``scipy.stats.rankdata`` along the case
axis), covariances from one tensor contraction.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _present(scores: np.ndarray) -> np.ndarray:
    return ~np.isnan(scores)


def auc_components(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """The empirical (trapezoidal, Wilcoxon) AUC and DeLong's structural components.

    Returns ``(auc, v10, v01, n1, n0)``: ``auc`` (R, M); ``v10`` (R, M, K) for a positive case the share of the
    negatives it outscores (ties half), nan elsewhere; ``v01`` (R, M, K) for a negative case the share of the
    positives that outscore it, nan elsewhere; ``n1``, ``n0`` (R, M) the positives and negatives each figure uses.

    For a positive case, (negatives below + ties / 2) is its mid-rank among all scored cases minus its mid-rank among
    the positives; cases not scored are set to +inf, above every score, so they never change a finite rank."""
    scores = np.asarray(scores, dtype=float)
    truth = np.asarray(truth).astype(bool)
    present = _present(scores)
    positive = present & truth
    negative = present & ~truth
    rank_all = rankdata(np.where(present, scores, np.inf), axis=-1)
    rank_positive = rankdata(np.where(positive, scores, np.inf), axis=-1)
    rank_negative = rankdata(np.where(negative, scores, np.inf), axis=-1)
    n1 = positive.sum(axis=-1)
    n0 = negative.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        v10 = np.where(positive, (rank_all - rank_positive) / n0[..., None], np.nan)
        v01 = np.where(negative, (n1[..., None] - (rank_all - rank_negative)) / n1[..., None], np.nan)
        auc = np.where((n1 > 0) & (n0 > 0), np.nansum(np.where(positive, v10, 0.0), axis=-1) / n1, np.nan)
    return auc, v10, v01, n1, n0


def auc(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Empirical (Wilcoxon) AUC per reader x modality, shape (R, M); nan where a class is missing."""
    return auc_components(scores, truth)[0]


def auc_jackknife(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Leave-one-case-out AUCs, shape (R, M, K): entry k is the AUC without case k (the AUC itself where k is not
    scored). Exact, from the structural components: without positive p, (n1 * AUC - V10_p) / (n1 - 1); without
    negative n, (n0 * AUC - V01_n) / (n0 - 1)."""
    return auc_and_jackknife(scores, truth)[1]


def auc_and_jackknife(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``auc`` and ``auc_jackknife`` from one pass over the structural components."""
    value, v10, v01, n1, n0 = auc_components(scores, truth)
    with np.errstate(divide="ignore", invalid="ignore"):
        without_positive = (n1[..., None] * value[..., None] - v10) / (n1[..., None] - 1)
        without_negative = (n0[..., None] * value[..., None] - v01) / (n0[..., None] - 1)
    loo = np.broadcast_to(value[..., None], v10.shape).copy()
    loo = np.where(~np.isnan(v10), without_positive, loo)
    return value, np.where(~np.isnan(v01), without_negative, loo)


def rate(values: np.ndarray) -> np.ndarray:
    """Mean of 0/1 (or any numeric) values per reader x modality, shape (R, M): e.g. the called-real rate."""
    values = np.asarray(values, dtype=float)
    present = _present(values)
    count = present.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, np.where(present, values, 0.0).sum(axis=-1) / count, np.nan)


def rate_jackknife(values: np.ndarray) -> np.ndarray:
    """Leave-one-case-out means, shape (R, M, K); the mean itself where case k is not scored."""
    values = np.asarray(values, dtype=float)
    present = _present(values)
    count = present.sum(axis=-1)[..., None]
    total = np.where(present, values, 0.0).sum(axis=-1)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / count
        without = (total - values) / (count - 1)
    return np.where(present, without, np.broadcast_to(mean, values.shape))


def jackknife_covariance(loo: np.ndarray) -> np.ndarray:
    """Jackknife covariance of the figures from their leave-one-case-out values (R, M, K), shape (R, M, R, M):
    cov(a, b) = (K - 1) / K * sum_k (a_(k) - a_(.)) (b_(k) - b_(.)), K all cases."""
    loo = np.asarray(loo, dtype=float)
    cases = loo.shape[-1]
    deviation = loo - loo.mean(axis=-1, keepdims=True)
    flat = deviation.reshape(-1, cases)
    covariance = (cases - 1) / cases * (flat @ flat.T)
    return covariance.reshape(*loo.shape[:2], *loo.shape[:2])


def delong_covariance(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """DeLong et al. (1988) structural-components covariance of the AUCs, shape (R, M, R, M).

    cov(a, b) = S10(a, b) / n1 + S01(a, b) / n0 on a fully crossed design, S the sample covariances (n - 1) of the
    components over the positives and the negatives. Where two figures use different cases the sums run over the
    cases they share, scaled by sqrt(n_a (n_a - 1) n_b (n_b - 1)), which is the same thing when the sets are equal."""
    value, v10, v01, n1, n0 = auc_components(scores, truth)
    parts = []
    for components, count in ((v10, n1), (v01, n0)):
        deviation = np.nan_to_num(components - value[..., None])
        flat = deviation.reshape(-1, deviation.shape[-1])
        scale = np.sqrt(count * (count - 1.0)).reshape(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            parts.append((flat @ flat.T) / np.outer(scale, scale))
    covariance = parts[0] + parts[1]
    return covariance.reshape(*value.shape, *value.shape)
