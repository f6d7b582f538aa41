"""Agreement beyond kappa: PABAK, positive and negative agreement, and intra-reader kappa with an interval.

Kappa depends on prevalence: when nearly every image is called "fake", two readers who agree 90% of the time can get a
kappa near 0 (the kappa paradox). So beside it:

* **PABAK** (prevalence- and bias-adjusted kappa, Byrt, Bishop & Carlin 1993) = 2 p_o - 1, p_o the observed agreement
  (for more readers, the mean pairwise agreement per case, as in Fleiss' kappa);
* **positive agreement** (on "fake") = 2a / (2a + b + c) and **negative agreement** (on "real") = 2d / (2d + b + c)
  for two readers (a both fake, d both real, b and c the disagreements); for more readers the pairwise forms
  sum_k f_k (f_k - 1) / sum_k f_k (m - 1) and the same with the "real" counts (Uebersax 1982), f_k the "fake" votes on
  case k of its m.

Every measure is a function of how many cases had 0..m "real" votes, so a bootstrap over cases is a multinomial draw
over those patterns (as the kappas in ``statistics.agreement``): exact and vectorised.

**Intra-reader agreement** compares each reader's first answer with their answer to the repeat of the same image:
Cohen's kappa per reader with a bootstrap interval over the repeated cases, and the readers' mean kappa with an
interval from resampling readers and, within each, their cases (two-way).
"""
from __future__ import annotations

import numpy as np

ALPHA = 0.05


def _ratio(numerator, denominator):
    numerator, denominator = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def measures_from_patterns(pattern_counts: np.ndarray, raters: int) -> dict[str, np.ndarray]:
    """PABAK, positive (fake) and negative (real) agreement and the observed agreement from how many cases had
    k = 0..m "real" votes (last axis), vectorised over leading axes."""
    counts = np.asarray(pattern_counts, dtype=float)
    real = np.arange(raters + 1, dtype=float)
    fake = raters - real
    cases = counts.sum(axis=-1)
    pairs_agreeing = real * (real - 1) + fake * (fake - 1)
    observed = _ratio((counts * pairs_agreeing).sum(axis=-1), cases * raters * (raters - 1))
    positive = _ratio((counts * fake * (fake - 1)).sum(axis=-1), (counts * fake * (raters - 1)).sum(axis=-1))
    negative = _ratio((counts * real * (real - 1)).sum(axis=-1), (counts * real * (raters - 1)).sum(axis=-1))
    return {"observed": observed, "pabak": 2 * observed - 1, "positive_agreement": positive,
            "negative_agreement": negative}


def agreement_measures(real_votes: np.ndarray, raters: int, rng: np.random.Generator,
                       resamples: int = 2000, alpha: float = ALPHA) -> dict[str, dict[str, float | None]]:
    """Each measure with a percentile bootstrap interval over cases, from each complete case's number of "real"
    votes (``real_votes``, values 0..raters)."""
    patterns = np.bincount(np.asarray(real_votes, dtype=np.int64), minlength=raters + 1)
    point = measures_from_patterns(patterns, raters)
    draws = rng.multinomial(patterns.sum(), patterns / patterns.sum(), size=resamples)
    replicates = measures_from_patterns(draws, raters)
    out = {}
    for name in ("pabak", "positive_agreement", "negative_agreement"):
        values = replicates[name][~np.isnan(replicates[name])]
        low, high = (np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)]) if len(values)
                     else (np.nan, np.nan))
        out[name] = {"estimate": _clean(point[name]), "ci_low": _clean(low), "ci_high": _clean(high)}
    return out


def _clean(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def intra_reader_agreement(reader: np.ndarray, first_real: np.ndarray, repeat_real: np.ndarray, n_readers: int,
                           seed: int | list[int] = 20_190_415, resamples: int = 2000,
                           alpha: float = ALPHA) -> dict:
    """Kappa between each reader's first and repeated answer to the same image, per reader and averaged over readers,
    each with a 95% bootstrap interval. One entry per repeated image: ``reader`` index, ``first_real`` and
    ``repeat_real`` (bool: answered "real")."""
    from .statistics import kappa_from_two_by_two  # statistics imports this module

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
                        "agreement": _clean(_ratio(tables[r, 0] + tables[r, 3], n_pairs[r])),
                        "kappa": _clean(kappa[r]), "ci_low": _clean(low), "ci_high": _clean(high)})
    defined = np.flatnonzero(~np.isnan(kappa))
    mean = {"kappa": None, "ci_low": None, "ci_high": None, "readers": int(len(defined))}
    if len(defined):
        picks = defined[rng.integers(0, len(defined), (resamples, len(defined)))]
        resampled = np.take_along_axis(kappa_draws, picks, axis=1)
        means = np.nanmean(resampled, axis=1)
        low, high = np.nanpercentile(means, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        mean.update(kappa=float(kappa[defined].mean()), ci_low=_clean(low), ci_high=_clean(high))
    return {"readers": readers, "mean": mean,
            "note": "Kappa between the first and the repeated answer to the same image; the mean's interval "
                    "resamples readers and, within each, their repeated images."}
