"""Bootstrap draws made cheaply and exactly: what the bootstraps need is how often each value (or each kind of case)
was drawn, and numpy's one-draw-at-a-time generators spend most of the results' time making it.

* ``binomial_resamples``: many independent binomial draws per cell, for the per-reader bootstraps; the same
  distribution as ``rng.binomial(n, p, (resamples, ...))`` at a tenth of its cost. numpy draws each binomial on its
  own (2.4 million draws, 0.3 s, for 300 readers x 4 columns x 2,000 resamples). Yet ``resamples`` independent draws
  from a distribution on 0..n are, as a collection, how many of them fell on each value, a multinomial count (one per
  cell, which numpy ends as soon as the count is spent), and in a uniformly random order they *are* the independent
  draws. So each cell's draws are its values repeated by their counts and, where asked, shuffled. The order matters
  only where draws of different cells are paired resample by resample (a reader's real-image draw with each
  generator's): there all but one of the paired cells must be shuffled; a percentile of one cell's draws needs no
  order at all.
* ``resample_counts``: drawing n items with replacement, how often each label (pattern, kind of case) came up. A
  multinomial over the labels is exact but numpy draws it as one binomial per label per resample (about 100 ns
  each); with hundreds of labels (300 readers: nearly every case a kind of its own, 301 patterns of votes) drawing
  the items themselves (uniform integers, a few ns each) and counting them is the same distribution ten times faster.
"""
from __future__ import annotations

import numpy as np
from scipy import special


def binomial_pmf_table(n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P(X = k) for k = 0..max(n), one row per cell of ``n`` (ints >= 0) and ``p`` (in [0, 1]), both flat; 0 past
    each cell's own n."""
    n, p = np.asarray(n, np.int64), np.asarray(p, float)
    k = np.arange(int(n.max(initial=0)) + 1)[None, :]
    inside = k <= n[:, None]
    rest = np.where(inside, n[:, None] - k, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = (special.gammaln(n[:, None] + 1) - special.gammaln(k + 1) - special.gammaln(rest + 1)
                   + special.xlogy(k, p[:, None]) + special.xlog1py(rest, -p[:, None]))
    pmf = np.where(inside, np.exp(log_pmf), 0.0)
    return pmf / pmf.sum(axis=1, keepdims=True)


def binomial_resamples(n, p, resamples: int, rng: np.random.Generator, shuffle: bool = True) -> np.ndarray:
    """``resamples`` independent Binomial(n, p) draws for each cell of ``n`` and ``p`` (same shape): an int array of
    shape ``(*n.shape, resamples)``, the draws of one cell along the last axis. ``shuffle=False`` leaves each cell's
    draws sorted (the same collection; enough for a percentile, or for the one unshuffled cell of a pairing)."""
    n = np.asarray(n, np.int64)
    p = np.broadcast_to(np.asarray(p, float), n.shape)
    if np.any(n < 0) or np.any(~((p >= 0) & (p <= 1))):
        raise ValueError("binomial_resamples needs n >= 0 and p in [0, 1] in every cell")
    flat_n, flat_p = n.reshape(-1), p.reshape(-1)
    if flat_n.size == 0:
        return np.zeros((*n.shape, resamples), dtype=np.int64)
    counts = rng.multinomial(resamples, binomial_pmf_table(flat_n, flat_p))  # (cells, max n + 1), rows sum to B
    values = np.broadcast_to(np.arange(counts.shape[1]), counts.shape)
    draws = np.repeat(values.reshape(-1), counts.reshape(-1)).reshape(flat_n.size, resamples)
    if shuffle:
        draws = rng.permuted(draws, axis=1)
    return draws.reshape(*n.shape, resamples)


MULTINOMIAL_LABELS_PER_ITEM = 1 / 8  # below this many labels per item the multinomial is the cheaper draw
ITEM_PICKS_PER_CHUNK = 4_000_000  # bounds the memory of the item draws (32 MB of picks) whatever the data's size


def resample_counts(rng: np.random.Generator, labels: np.ndarray, n_labels: int, resamples: int) -> np.ndarray:
    """(resamples x n_labels) floats: how often each label came up when the ``len(labels)`` items, labelled 0..
    n_labels - 1, are drawn with replacement, ``resamples`` times. A multinomial over the labels where they are few
    (each binomial then covers many items), else the items drawn and counted: the same distribution either way."""
    labels = np.asarray(labels, np.int64).reshape(-1)
    n_items = len(labels)
    if n_items == 0 or resamples == 0:
        return np.zeros((resamples, n_labels))
    if n_labels <= n_items * MULTINOMIAL_LABELS_PER_ITEM:
        frequency = np.bincount(labels, minlength=n_labels)
        return rng.multinomial(n_items, frequency / n_items, size=resamples).astype(float)
    rows = max(1, ITEM_PICKS_PER_CHUNK // n_items)
    chunks = [_row_counts(labels[rng.integers(0, n_items, (min(rows, resamples - start), n_items))], n_labels)
              for start in range(0, resamples, rows)]
    return np.concatenate(chunks, axis=0)


def _row_counts(picks: np.ndarray, size: int) -> np.ndarray:
    """How often each of ``size`` indices occurs in each row of ``picks`` (B x n), as (B x size) floats."""
    rows = picks.shape[0]
    offsets = (np.arange(rows, dtype=np.int64)[:, None] * size + picks).ravel()
    return np.bincount(offsets, minlength=rows * size).reshape(rows, size).astype(float, copy=False)
