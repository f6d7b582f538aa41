"""Agreement between readers: Cohen's kappa (two readers) and Fleiss' kappa (more) with bootstrap intervals, the
measures beyond kappa (PABAK, positive and negative agreement), and intra-reader kappa with an interval.

Kappa depends on prevalence: when nearly every image is called "fake", two readers who agree 90% of the time can get a
kappa near 0 (the kappa paradox). So beside it:

* **PABAK** (prevalence- and bias-adjusted kappa, Byrt, Bishop & Carlin 1993) = 2 p_o - 1, p_o the observed agreement
  (for more readers, the mean pairwise agreement per case, as in Fleiss' kappa);
* **positive agreement** (on "fake") = 2a / (2a + b + c) and **negative agreement** (on "real") = 2d / (2d + b + c)
  for two readers (a both fake, d both real, b and c the disagreements); for more readers the pairwise forms
  sum_k f_k (f_k - 1) / sum_k f_k (m - 1) and the same with the "real" counts (Uebersax 1982), f_k the "fake" votes on
  case k of its m.

Every measure is a function of how many cases had 0..m "real" votes, so a bootstrap over cases needs only how often
each pattern was drawn (``resampling.resample_counts``, as the kappas in ``agreement``): exact and vectorised.

**Intra-reader agreement** compares each reader's first answer with their answer to the repeat of the same image:
Cohen's kappa per reader with a bootstrap interval over the repeated cases, and the readers' mean kappa with an
interval from resampling readers and, within each, their cases (two-way).
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from .proportions import ALPHA, number_or_none, ratio
from .resampling import resample_counts
from .two_way_bootstrap import RESAMPLES, SEED


def measures_from_patterns(pattern_counts: np.ndarray, raters: int) -> dict[str, np.ndarray]:
    """PABAK, positive (fake) and negative (real) agreement and the observed agreement from how many cases had
    k = 0..m "real" votes (last axis), vectorised over leading axes."""
    counts = np.asarray(pattern_counts, dtype=float)
    real = np.arange(raters + 1, dtype=float)
    fake = raters - real
    cases = counts.sum(axis=-1)
    pairs_agreeing = real * (real - 1) + fake * (fake - 1)
    observed = ratio((counts * pairs_agreeing).sum(axis=-1), cases * raters * (raters - 1))
    positive = ratio((counts * fake * (fake - 1)).sum(axis=-1), (counts * fake * (raters - 1)).sum(axis=-1))
    negative = ratio((counts * real * (real - 1)).sum(axis=-1), (counts * real * (raters - 1)).sum(axis=-1))
    return {"observed": observed, "pabak": 2 * observed - 1, "positive_agreement": positive,
            "negative_agreement": negative}


def agreement_measures(real_votes: np.ndarray, raters: int, rng: np.random.Generator,
                       resamples: int = RESAMPLES, alpha: float = ALPHA) -> dict[str, dict[str, float | None]]:
    """Each measure with a percentile bootstrap interval over cases, from each complete case's number of "real"
    votes (``real_votes``, values 0..raters)."""
    real_votes = np.asarray(real_votes, dtype=np.int64)
    point = measures_from_patterns(np.bincount(real_votes, minlength=raters + 1), raters)
    draws = resample_counts(rng, real_votes, raters + 1, resamples)
    replicates = measures_from_patterns(draws, raters)
    out = {}
    for name in ("pabak", "positive_agreement", "negative_agreement"):
        values = replicates[name][~np.isnan(replicates[name])]
        low, high = (np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)]) if len(values)
                     else (np.nan, np.nan))
        out[name] = {"estimate": number_or_none(point[name]), "ci_low": number_or_none(low),
                     "ci_high": number_or_none(high)}
    return out


def intra_reader_agreement(reader: np.ndarray, first_real: np.ndarray, repeat_real: np.ndarray, n_readers: int,
                           seed: int | list[int] = SEED, resamples: int = RESAMPLES,
                           alpha: float = ALPHA) -> dict:
    """Kappa between each reader's first and repeated answer to the same image, per reader and averaged over readers,
    each with a 95% bootstrap interval. One entry per repeated image: ``reader`` index, ``first_real`` and
    ``repeat_real`` (bool: answered "real")."""
    reader = np.asarray(reader, dtype=np.int64)
    first_real, repeat_real = np.asarray(first_real, dtype=bool), np.asarray(repeat_real, dtype=bool)
    cell = (~first_real).astype(np.int64) * 2 + (~repeat_real).astype(np.int64)  # 0 both real .. 3 both fake
    tables = np.bincount(reader * 4 + cell, minlength=n_readers * 4).reshape(n_readers, 4)
    kappa = kappa_from_two_by_two(tables[:, 0], tables[:, 1], tables[:, 2], tables[:, 3])
    rng = np.random.default_rng(seed)
    n_pairs = tables.sum(axis=1)
    draws = np.zeros((resamples, n_readers, 4))
    for r in range(n_readers):
        if n_pairs[r]:
            draws[:, r] = rng.multinomial(n_pairs[r], tables[r] / n_pairs[r], size=resamples)
    kappa_draws = kappa_from_two_by_two(draws[..., 0], draws[..., 1], draws[..., 2], draws[..., 3])
    readers = []
    for r in range(n_readers):
        values = kappa_draws[:, r][~np.isnan(kappa_draws[:, r])]
        low, high = (np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)]) if len(values) and
                     not np.isnan(kappa[r]) else (np.nan, np.nan))
        readers.append({"reader": r, "n_pairs": int(n_pairs[r]),
                        "agreement": number_or_none(ratio(tables[r, 0] + tables[r, 3], n_pairs[r])),
                        "kappa": number_or_none(kappa[r]), "ci_low": number_or_none(low),
                        "ci_high": number_or_none(high)})
    defined = np.flatnonzero(~np.isnan(kappa))
    mean = {"kappa": None, "ci_low": None, "ci_high": None, "readers": int(len(defined))}
    if len(defined):
        picks = defined[rng.integers(0, len(defined), (resamples, len(defined)))]
        resampled = np.take_along_axis(kappa_draws, picks, axis=1)
        means = np.nanmean(resampled, axis=1)
        low, high = np.nanpercentile(means, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        mean.update(kappa=float(kappa[defined].mean()), ci_low=number_or_none(low), ci_high=number_or_none(high))
    return {"readers": readers, "mean": mean,
            "note": "Kappa between the first and the repeated answer to the same image; the mean's interval "
                    "resamples readers and, within each, their repeated images."}


def reader_case_matrix(case_index: np.ndarray, reader: np.ndarray, called_real: np.ndarray,
                       n_readers: int) -> np.ndarray:
    """Cases x readers: 1 called real, 0 called fake, -1 no vote; ``case_index`` numbers the cases from 0."""
    n_cases = int(case_index.max()) + 1 if len(case_index) else 0
    matrix = np.full((n_cases, n_readers), -1, dtype=np.int8)
    matrix[case_index, reader] = called_real
    return matrix


def kappa_from_two_by_two(both_real, first_only, second_only, both_fake) -> np.ndarray:
    """Cohen's kappa from the cells of a 2x2 agreement table, vectorised (nan where it is undefined)."""
    both_real, first_only = np.asarray(both_real, float), np.asarray(first_only, float)
    second_only, both_fake = np.asarray(second_only, float), np.asarray(both_fake, float)
    n = both_real + first_only + second_only + both_fake
    observed = ratio(both_real + both_fake, n)
    first_real, second_real = ratio(both_real + first_only, n), ratio(both_real + second_only, n)
    expected = first_real * second_real + (1 - first_real) * (1 - second_real)
    return ratio(observed - expected, 1 - expected)


def fleiss_from_patterns(pattern_counts: np.ndarray, raters: int) -> np.ndarray:
    """Fleiss' kappa from how many cases had k = 0..m "real" votes (last axis), vectorised over leading axes."""
    k = np.arange(raters + 1, dtype=float)
    pattern_counts = np.asarray(pattern_counts, dtype=float)
    cases = pattern_counts.sum(axis=-1)
    p_real = ratio((pattern_counts * k).sum(axis=-1), cases * raters)
    agreement_per_pattern = (k**2 + (raters - k) ** 2 - raters) / (raters * (raters - 1))
    observed = ratio((pattern_counts * agreement_per_pattern).sum(axis=-1), cases)
    expected = p_real**2 + (1 - p_real) ** 2
    return ratio(observed - expected, 1 - expected)


def agreement(matrix: np.ndarray, seed: int = SEED, resamples: int = RESAMPLES) -> dict:
    """Cohen's kappa (sklearn) for two readers, Fleiss' kappa (statsmodels) for more, on the cases every reader voted
    on, with a bootstrap 95% interval over cases. Resampling cases needs only how often each of the agreement table's
    cells was drawn (2x2 for Cohen, the number of "real" votes per case for Fleiss), since each kappa depends on
    nothing else (``resampling.resample_counts``).

    Beside kappa, which swings with prevalence (two readers who call nearly everything fake agree often and get a kappa
    near 0): PABAK, and the agreement on "fake" (positive) and on "real" (negative), each with the same bootstrap
    (``agreement_measures``)."""
    raters = matrix.shape[1]
    complete = matrix[(matrix >= 0).all(axis=1)] if raters else matrix
    empty = {"estimate": None, "ci_low": None, "ci_high": None}
    result = {"method": None, "readers": raters, "n_cases": int(complete.shape[0]), "kappa": None, "ci_low": None,
              "ci_high": None, "observed_agreement": None, "pabak": empty, "positive_agreement": empty,
              "negative_agreement": empty, "note": ""}
    if raters < 2:
        result["note"] = "Agreement needs at least two readers."
        return result
    result["method"] = "cohen" if raters == 2 else "fleiss"
    if complete.shape[0] == 0:
        result["note"] = "No case has a vote from every reader."
        return result
    real_votes = complete.sum(axis=1).astype(np.int64)
    result["observed_agreement"] = float(np.mean((real_votes == 0) | (real_votes == raters)))
    result.update(agreement_measures(real_votes, raters, np.random.default_rng([seed, raters, 1]), resamples))
    if real_votes.min() == raters or real_votes.max() == 0:
        result["note"] = "Every vote has the same answer, so chance agreement is 1 and kappa is undefined."
        return result
    rng = np.random.default_rng([seed, raters])
    if raters == 2:
        first, second = complete[:, 0], complete[:, 1]
        cell = 2 * (first == 0).astype(np.int64) + (second == 0)  # both real, first only, second only, both fake
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            kappa = float(cohen_kappa_score(first, second))
        draws = resample_counts(rng, cell, 4, resamples)
        replicates = kappa_from_two_by_two(draws[:, 0], draws[:, 1], draws[:, 2], draws[:, 3])
    else:
        table = np.column_stack([real_votes, raters - real_votes])
        kappa = float(fleiss_kappa(table, method="fleiss"))
        replicates = fleiss_from_patterns(resample_counts(rng, real_votes, raters + 1, resamples), raters)
    replicates = replicates[~np.isnan(replicates)]
    low, high = np.percentile(replicates, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    result.update(kappa=kappa, ci_low=float(low), ci_high=float(high))
    return result
