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

No Python loop runs per case: AUC structural components come from mid-ranks along the case axis (``mid_ranks``:
``scipy.stats.rankdata``'s, counted for whole-number scores), covariances from one tensor contraction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


def fake_score(called_real, confidence):
    """The score a reader study's ROC is drawn on: answer and confidence (1-5) on one 1-10 scale of "how fake",
    "fake" with confidence c scoring 5 + c and "real" 6 - c (a sure "real" is 1, a sure "fake" 10). Numbers or
    arrays alike; the results page, the simulator and the exports all score with this one rule."""
    return np.where(called_real, 6 - confidence, 5 + confidence)


def _present(scores: np.ndarray) -> np.ndarray:
    return ~np.isnan(scores)


def in_modality(scores: np.ndarray) -> np.ndarray:
    """(M, K): which cases belong to each modality (scored there by some reader)."""
    return ~np.isnan(np.asarray(scores, dtype=float)).all(axis=0)


def auc_components(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """The empirical (trapezoidal, Wilcoxon) AUC and DeLong's structural components.

    Returns ``(auc, v10, v01, n1, n0)``: ``auc`` (R, M); ``v10`` (R, M, K) for a positive case the share of the
    negatives it outscores (ties half), nan elsewhere; ``v01`` (R, M, K) for a negative case the share of the
    positives that outscore it, nan elsewhere; ``n1``, ``n0`` (R, M) the positives and negatives each figure uses.

    For a positive case, (negatives below + ties / 2) is its mid-rank among all scored cases minus its mid-rank among
    the positives; cases not scored are set to +inf, above every score, so they never change a finite rank. Each
    modality is ranked over its own cases only (a generator's AUC over the real images and its own fakes)."""
    scores = np.asarray(scores, dtype=float)
    truth = np.asarray(truth).astype(bool)
    readers, modalities, cases = scores.shape
    v10 = np.full(scores.shape, np.nan)
    v01 = np.full(scores.shape, np.nan)
    n1 = np.zeros((readers, modalities), dtype=np.int64)
    n0 = np.zeros((readers, modalities), dtype=np.int64)
    members = in_modality(scores)
    for m in range(modalities):
        columns = np.flatnonzero(members[m])
        block = scores[:, m, columns]
        present = ~np.isnan(block)
        positive = present & truth[columns]
        negative = present & ~truth[columns]
        rank_all = mid_ranks(np.where(present, block, np.inf))
        rank_positive = mid_ranks(np.where(positive, block, np.inf))
        rank_negative = mid_ranks(np.where(negative, block, np.inf))
        n1[:, m], n0[:, m] = positive.sum(axis=-1), negative.sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            v10[:, m, columns] = np.where(positive, (rank_all - rank_positive) / n0[:, m, None], np.nan)
            v01[:, m, columns] = np.where(negative, (n1[:, m, None] - (rank_all - rank_negative)) / n1[:, m, None],
                                          np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = np.where((n1 > 0) & (n0 > 0), np.nansum(np.where(np.isnan(v10), 0.0, v10), axis=-1) / n1, np.nan)
    return auc, v10, v01, n1, n0


COUNTED_LEVELS = 64  # whole-number scores spanning at most this many values are ranked by counting


def mid_ranks(values: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(values, axis=-1)``: ranks along the last axis, ties given their mean rank, +inf above
    every finite value. Where the finite values are whole numbers of a small range (the 1-10 fake-score), counted
    rather than sorted: a value's mid-rank is how many values lie below it plus (its ties + 1) / 2, the same numbers
    exactly (whole and half ranks are exact in floating point) in one pass instead of a sort per row."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    seen = values[finite]
    if values.size == 0 or np.isnan(values).any() or (seen.size and (
            seen.max() - seen.min() >= COUNTED_LEVELS or not np.array_equal(seen, np.floor(seen)))):
        return rankdata(values, axis=-1)
    low = seen.min() if seen.size else 0.0
    levels = int(seen.max() - low) + 2 if seen.size else 1  # the last level for +inf
    codes = np.where(finite, values - low, levels - 1).astype(np.int64)
    rows = codes.reshape(-1, codes.shape[-1])
    offsets = (np.arange(rows.shape[0], dtype=np.int64)[:, None] * levels + rows).ravel()
    counts = np.bincount(offsets, minlength=rows.shape[0] * levels).reshape(rows.shape[0], levels)
    rank_of_level = np.cumsum(counts, axis=1) - counts + (counts + 1) / 2
    return np.take_along_axis(rank_of_level, rows, axis=1).reshape(values.shape)


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
    loo = np.empty(v10.shape)
    loo[...] = value[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        for components, count in ((v10, n1), (v01, n0)):
            r, m, k = np.nonzero(~np.isnan(components))
            loo[r, m, k] = (count[r, m] * value[r, m] - components[r, m, k]) / (count[r, m] - 1)
    return value, loo


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
    r, m, k = np.nonzero(_present(values))
    figure = r * values.shape[1] + m
    size = values.shape[0] * values.shape[1]
    count = np.bincount(figure, minlength=size).reshape(values.shape[:2]).astype(float)
    total = np.bincount(figure, weights=values[r, m, k], minlength=size).reshape(values.shape[:2])
    loo = np.empty(values.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        loo[...] = (total / count)[..., None]
        loo[r, m, k] = (total[r, m] - values[r, m, k]) / (count[r, m] - 1)
    return loo


def jackknife_covariance(loo: np.ndarray, members: np.ndarray | None = None) -> np.ndarray:
    """Jackknife covariance of the figures from their leave-one-case-out values (R, M, K), shape (R, M, R, M):
    cov(a, b) = (K - 1) / K * sum_k (a_(k) - a_(.)) (b_(k) - b_(.)), K all cases.

    With ``members`` (M, K; ``in_modality``) the sum skips what it can: a figure's leave-one-out value is the figure
    itself wherever the case is not in its modality, so with e_k = a_(k) - c_a (c_a that constant, or any constant
    for a modality with every case) the sum is sum_k e_a,k e_b,k - K mean(e_a) mean(e_b), and e_a e_b is nonzero only
    on the cases both modalities share: one product per pair of modalities over their shared cases (a split design's
    sources share none), the same result as the dense product."""
    loo = np.asarray(loo, dtype=float)
    readers, modalities, cases = loo.shape
    if members is None:
        deviation = loo - loo.mean(axis=-1, keepdims=True)
        flat = deviation.reshape(-1, cases)
        covariance = (cases - 1) / cases * (flat @ flat.T)
        return covariance.reshape(readers, modalities, readers, modalities)
    blocks, mean = _centred_blocks(loo, members)
    covariance = np.zeros((readers, modalities, readers, modalities))
    for m, n, first, second in _shared_case_pairs(blocks, members):
        product = first @ second.T
        covariance[:, m, :, n] = product
        covariance[:, n, :, m] = product.T
    covariance -= cases * mean[:, :, None, None] * mean[None, None, :, :]
    return (cases - 1) / cases * covariance


def _centred_blocks(loo: np.ndarray, members: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Per modality m, the leave-one-out values of its own cases less the constant c_m (the value on a case outside
    the modality, or the mean where it has every case), and the mean deviation over all K cases (R, M)."""
    readers, modalities, cases = loo.shape
    centre = np.empty((readers, modalities))
    for m in range(modalities):
        absent = ~members[m]
        centre[:, m] = loo[:, m, int(np.argmax(absent))] if absent.any() else loo[:, m].mean(axis=-1)
    blocks = [loo[:, m, members[m]] - centre[:, m, None] for m in range(modalities)]
    return blocks, np.stack([block.sum(axis=-1) for block in blocks], axis=1) / cases


def _shared_case_pairs(blocks: list[np.ndarray], members: np.ndarray):
    """Each pair of modalities m <= n that shares cases, with both blocks cut to the shared cases (R, shared)."""
    modalities = len(blocks)
    for m in range(modalities):
        for n in range(m, modalities):
            shared = members[m] & members[n]
            if shared.any():
                yield m, n, blocks[m][:, shared[members[m]]], blocks[n][:, shared[members[n]]]


@dataclass(frozen=True)
class CovarianceSummary:
    """What the OR analysis needs of the (R, M, R, M) covariance of the figures, without the reader x reader part:
    ``same_reader`` (R, M, M) cov(reader r in m, reader r in n) and ``total`` (M, M) the sum over all pairs of readers
    of cov(reader in m, reader in n). Var, Cov1, Cov2, Cov3 and their per-modality forms are averages of these."""

    same_reader: np.ndarray
    total: np.ndarray

    @classmethod
    def from_matrix(cls, covariance: np.ndarray) -> CovarianceSummary:
        covariance = np.asarray(covariance, dtype=float)
        return cls(same_reader=np.einsum("rmrn->rmn", covariance), total=covariance.sum(axis=(0, 2)))

    def subset(self, modalities: list[int]) -> CovarianceSummary:
        return CovarianceSummary(same_reader=self.same_reader[:, modalities][:, :, modalities],
                                 total=self.total[np.ix_(modalities, modalities)])


def jackknife_summary(loo: np.ndarray, members: np.ndarray | None = None) -> CovarianceSummary:
    """The jackknife covariance's ``CovarianceSummary``, in O(R M^2 K) instead of the full matrix's O(R^2 M^2 K):
    the same-reader terms are sums of products of one reader's deviations, the all-pairs total is the product of the
    readers' summed deviations. With ``members`` (``in_modality``) each pair of modalities runs over its shared cases
    only (see ``jackknife_covariance``)."""
    loo = np.asarray(loo, dtype=float)
    readers, modalities, cases = loo.shape
    if members is None:
        members = np.ones((modalities, cases), dtype=bool)
    blocks, mean = _centred_blocks(loo, members)
    same_reader = np.zeros((readers, modalities, modalities))
    total = np.zeros((modalities, modalities))
    for m, n, first, second in _shared_case_pairs(blocks, members):
        same_reader[:, m, n] = same_reader[:, n, m] = np.einsum("rk,rk->r", first, second)
        total[m, n] = total[n, m] = first.sum(axis=0) @ second.sum(axis=0)
    same_reader -= cases * mean[:, :, None] * mean[:, None, :]
    summed = mean.sum(axis=0)
    total -= cases * summed[:, None] * summed[None, :]
    scale = (cases - 1) / cases
    return CovarianceSummary(same_reader=scale * same_reader, total=scale * total)


def auc_and_delong_variance(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The AUCs (R, M) and each one's own DeLong variance (the diagonal of ``delong_covariance``), from one pass over
    the structural components and without the (R M) x (R M) matrix: what per-reader intervals need."""
    value, v10, v01, n1, n0 = auc_components(scores, truth)
    variance = np.zeros(value.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        for components, count in ((v10, n1), (v01, n0)):
            deviation = np.nan_to_num(components - value[..., None])
            variance = variance + np.einsum("rmk,rmk->rm", deviation, deviation) / (count * (count - 1.0))
    return value, variance


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
