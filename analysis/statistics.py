"""The statistics of a reader study, as pure functions of plain numpy arrays (no ORM, no Django): the votes and their
layout, the counts, and every section of the results page. The methods live by concern: proportions and the test
against chance in ``proportions``, kappa and the other agreement measures in ``agreement_measures``, the ROC in
``roc`` (the fake-score in ``mrmc.fom``), d' in ``signal_detection``, the reader-and-case bootstrap in
``two_way_bootstrap``.

Conventions used throughout:

* the positive class is *fake*: sensitivity is the share of fakes called fake, specificity the share of reals called
  real, accuracy the share of all images judged correctly;
* "chance" is the accuracy of a reader who guesses (0.5); the observed prevalence of real images is reported beside it,
  since a guesser who knew it could match it;
* intervals are 95%: Wilson for proportions (statsmodels), bootstrap (percentile, fixed seed, bounded number of
  resamples) for the HYPE-infinity error rate and for the kappas, so the same votes always give the same numbers;
* confidence ratings map to a fake-score on a 1-10 scale for ROC AUC: "fake" with confidence c scores 5 + c, "real"
  with confidence c scores 6 - c (so a sure "real" is 1 and a sure "fake" is 10).

Every count below is computed with ``np.bincount`` over combined indices, so the cost grows linearly with the votes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .agreement_measures import agreement, reader_case_matrix
from .indexing import unique_inverse
from .mrmc.fom import fake_score
from .proportions import (
    ALPHA,
    CHANCE,
    SMALL_SAMPLE_N,
    SMALL_SAMPLE_WIDTH,
    binomial_p_values_vs_half,
    is_small_sample,
    number_or_none,
    ratio,
    wilson_interval,
)
from .resampling import binomial_resamples
from .roc import SCORE_LEVELS, auc_from_histograms, delong_intervals
from .signal_detection import balanced, signal_detection
from .two_way_bootstrap import RESAMPLES as BOOTSTRAP_RESAMPLES
from .two_way_bootstrap import SEED as BOOTSTRAP_SEED
from .two_way_bootstrap import called_real_and_hype

POOLED = "Pooled"
ALL = "All"


@dataclass(frozen=True)
class Votes:
    """One entry per vote. Readers, findings and sources are indices into the matching ``Layout`` lists."""

    reader: np.ndarray  # int
    case: np.ndarray  # int, any id that identifies the case
    finding: np.ndarray  # int
    source: np.ndarray  # int
    called_real: np.ndarray  # bool
    confidence: np.ndarray  # float 1-5, nan where none was given
    time_ms: np.ndarray  # float, nan where not timed
    origin_seen: np.ndarray | None = None  # float: 1 the case's origin was in its generator's training split, 0 not,
    # nan no record (real images, or a batch without the record); None: not fetched

    def __len__(self) -> int:
        return int(self.reader.shape[0])

    @classmethod
    def from_columns(cls, reader, case, finding, source, called_real, confidence=None, time_ms=None) -> Votes:
        """Build from any sequences; missing confidence/time columns become all-nan."""
        n = len(reader)

        def as_float(values) -> np.ndarray:
            if values is None:
                return np.full(n, np.nan)
            if isinstance(values, np.ndarray):
                return values.astype(float)
            return np.array([np.nan if value is None else value for value in values], dtype=float)

        return cls(
            reader=np.asarray(reader, dtype=np.int64).reshape(n),
            case=np.asarray(case, dtype=np.int64).reshape(n),
            finding=np.asarray(finding, dtype=np.int64).reshape(n),
            source=np.asarray(source, dtype=np.int64).reshape(n),
            called_real=np.asarray(called_real, dtype=bool).reshape(n),
            confidence=as_float(confidence),
            time_ms=as_float(time_ms),
        )


@dataclass(frozen=True)
class Layout:
    """The labels of a study's readers (pseudonyms), findings and sources (Real first), in display order."""

    readers: list[str]
    findings: list[str]
    sources: list[str]
    source_is_real: list[bool]

    @property
    def generators(self) -> list[int]:
        return [index for index, real in enumerate(self.source_is_real) if not real]

    @property
    def real_sources(self) -> list[int]:
        return [index for index, real in enumerate(self.source_is_real) if real]


# --- counts ------------------------------------------------------------------------------------------------------

def count_cube(votes: Votes, layout: Layout, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Votes and called-real votes per (reader + pooled, finding + all, source): two int arrays of shape
    (R + 1, F + 1, S); the last reader row is the pooled sum and the last finding column the sum over findings."""
    n_readers, n_findings, n_sources = len(layout.readers), len(layout.findings), len(layout.sources)
    index = (votes.reader * n_findings + votes.finding) * n_sources + votes.source
    called_real = votes.called_real
    if mask is not None:
        index, called_real = index[mask], called_real[mask]
    size = n_readers * n_findings * n_sources
    total = np.bincount(index, minlength=size).reshape(n_readers, n_findings, n_sources)
    real = np.bincount(index, weights=called_real, minlength=size).astype(np.int64)
    real = real.reshape(n_readers, n_findings, n_sources)
    return _with_margins(total), _with_margins(real)


def _with_margins(cube: np.ndarray) -> np.ndarray:
    with_findings = np.concatenate([cube, cube.sum(axis=1, keepdims=True)], axis=1)
    return np.concatenate([with_findings, with_findings.sum(axis=0, keepdims=True)], axis=0)


def _reader_labels(layout: Layout) -> list[str]:
    return [*layout.readers, POOLED]


def _finding_labels(layout: Layout) -> list[str]:
    return [*layout.findings, ALL]


# --- the sections of the report ----------------------------------------------------------------------------------

def called_real_rates(total: np.ndarray, real: np.ndarray, layout: Layout) -> list[dict]:
    """For every (reader or pooled) x (finding or all) x source: how often its images were called real, with a Wilson
    interval (one reader's votes; the pooled row's interval that accounts for readers and cases is the MRMC
    analysis's or ``two_way_bootstrap``'s), and the accuracy on them. There is no test against chance here: on one
    source's images a reader who always gives that source's answer is always right (``p_value_vs_chance`` is None)."""
    low, high = wilson_interval(real, total)
    rate = ratio(real, total)
    is_real = np.asarray(layout.source_is_real)[None, None, :]
    correct = np.where(is_real, real, total - real)
    small = is_small_sample(total, low, high).tolist()
    rate, low, high, accuracy = (_numbers(array) for array in (rate, low, high, ratio(correct, total)))
    total_, real_, correct_ = (array.astype(np.int64).tolist() for array in (total, real, correct))
    cells = []
    for r, reader in enumerate(_reader_labels(layout)):
        for f, finding in enumerate(_finding_labels(layout)):
            for s, source in enumerate(layout.sources):
                cells.append({
                    "reader": reader, "finding": finding, "source": source, "n": total_[r][f][s],
                    "called_real": real_[r][f][s], "rate": rate[r][f][s],
                    "ci_low": low[r][f][s], "ci_high": high[r][f][s],
                    "correct": correct_[r][f][s], "accuracy": accuracy[r][f][s],
                    "p_value_vs_chance": None,
                    "small_sample": small[r][f][s],
                })
    return cells


def _numbers(array: np.ndarray) -> list:
    """``array`` as nested lists of Python floats, None for nan: a whole table converted at once (per-cell
    conversion dominated the statistics at 300 readers)."""
    array = np.asarray(array, dtype=float)
    return np.where(np.isnan(array), None, array).tolist()


def detection_counts(total: np.ndarray, real: np.ndarray, layout: Layout) -> dict[str, np.ndarray]:
    """Confusion counts (positive = fake) per (reader + pooled, finding + all, generator + all generators)."""
    real_columns = layout.real_sources
    generators = layout.generators
    tn = real[:, :, real_columns].sum(axis=2)
    fp = total[:, :, real_columns].sum(axis=2) - tn
    fake_total = total[:, :, generators]
    fake_called_real = real[:, :, generators]
    fn = np.concatenate([fake_called_real, fake_called_real.sum(axis=2, keepdims=True)], axis=2)
    positives = np.concatenate([fake_total, fake_total.sum(axis=2, keepdims=True)], axis=2)
    shape = fn.shape
    return {"tp": positives - fn, "fn": fn, "tn": np.broadcast_to(tn[:, :, None], shape),
            "fp": np.broadcast_to(fp[:, :, None], shape)}


def detection(total: np.ndarray, real: np.ndarray, layout: Layout) -> list[dict]:
    """Accuracy, sensitivity and specificity at spotting fakes per (reader or pooled) x (finding or all) x (generator
    or all generators); a generator's accuracy is over the real images and that generator's images.

    Beside accuracy, discrimination apart from response bias: d' and the criterion c (``signal_detection``). The test
    of accuracy against chance (0.5) is given only where the cell has as many real as fake votes (``balanced``):
    elsewhere a reader who always answers the majority class beats 0.5 without telling anything apart."""
    counts = detection_counts(total, real, layout)
    tp, fn, tn, fp = counts["tp"], counts["fn"], counts["tn"], counts["fp"]
    n = tp + fn + tn + fp
    correct = tp + tn
    low, high = wilson_interval(correct, n)
    is_balanced = balanced(tn + fp, tp + fn)
    p_values = np.where(is_balanced, binomial_p_values_vs_half(correct, n), np.nan)
    sdt = signal_detection(tp, tp + fn, fp, tn + fp)
    small = is_small_sample(n, low, high)
    accuracy, sensitivity, specificity = ratio(correct, n), ratio(tp, tp + fn), ratio(tn, tn + fp)
    generator_labels = [*(layout.sources[g] for g in layout.generators), ALL]
    ints = [array.astype(np.int64).tolist() for array in (n, tp, fn, tn, fp)]
    n_, tp_, fn_, tn_, fp_ = ints
    floats = [_numbers(array) for array in (accuracy, low, high, sensitivity, specificity, sdt.d_prime,
                                            sdt.criterion, p_values)]
    accuracy_, low_, high_, sensitivity_, specificity_, d_prime_, criterion_, p_ = floats
    balanced_, small_ = np.asarray(is_balanced, bool).tolist(), np.asarray(small, bool).tolist()
    cells = []
    for r, reader in enumerate(_reader_labels(layout)):
        for f, finding in enumerate(_finding_labels(layout)):
            for g, generator in enumerate(generator_labels):
                cells.append({
                    "reader": reader, "finding": finding, "generator": generator, "n": n_[r][f][g],
                    "tp": tp_[r][f][g], "fn": fn_[r][f][g], "tn": tn_[r][f][g], "fp": fp_[r][f][g],
                    "accuracy": accuracy_[r][f][g],
                    "accuracy_ci_low": low_[r][f][g],
                    "accuracy_ci_high": high_[r][f][g],
                    "sensitivity": sensitivity_[r][f][g],
                    "specificity": specificity_[r][f][g],
                    "d_prime": d_prime_[r][f][g],
                    "criterion": criterion_[r][f][g],
                    "balanced": balanced_[r][f][g],
                    "p_value_vs_chance": p_[r][f][g],
                    "small_sample": small_[r][f][g],
                })
    return cells


def bootstrap_error_rate(n_real, errors_real, n_fake, errors_fake, rng: np.random.Generator,
                         resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float, float] | None:
    """One reader's balanced HYPE-infinity error rate with a bootstrap 95% interval: half the share of real images
    called fake plus half the mean over generators of the share of their images called real, so the figure does not
    depend on the study's real/fake mix. ``n_real``, ``errors_real`` are numbers, ``n_fake``, ``errors_fake`` arrays
    over generators (generators without votes are left out). A reader's votes are their cases, so resampling them is
    resampling cases: for 0/1 outcomes a binomial draw at the observed rate, vectorised."""
    n_fake, errors_fake = np.atleast_1d(np.asarray(n_fake, np.int64)), np.atleast_1d(np.asarray(errors_fake, np.int64))
    voted = n_fake > 0
    if n_real <= 0 or not voted.any():
        return None
    n_fake, errors_fake = n_fake[voted], errors_fake[voted]
    point = 0.5 * errors_real / n_real + 0.5 * float(np.mean(errors_fake / n_fake))
    real_draws = rng.binomial(int(n_real), errors_real / n_real, size=resamples) / n_real
    fake_draws = rng.binomial(n_fake, errors_fake / n_fake, size=(resamples, len(n_fake))) / n_fake
    rates = 0.5 * real_draws + 0.5 * fake_draws.mean(axis=1)
    low, high = np.percentile(rates, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return float(point), float(low), float(high)


def _pooled_hype(votes: Votes, layout: Layout, seed: int, resamples: int) -> list[tuple | None]:
    """The pooled rows, (error, low, high) per generator and all generators, from the reader-and-case bootstrap."""
    generators = layout.generators
    if len(votes) == 0 or not layout.real_sources or not generators:
        return [None] * (len(generators) + 1)
    cases, case_index = unique_inverse(votes.case)
    readers, reader_index = unique_inverse(votes.reader)
    called_real = np.full((len(readers), len(cases)), np.nan)
    called_real[reader_index, case_index] = votes.called_real
    case_source = np.zeros(len(cases), dtype=np.int64)
    case_source[case_index] = votes.source
    present = np.isin(np.arange(len(layout.sources)), case_source)
    if not present[layout.real_sources].any() or not present[generators].any():
        return [None] * (len(generators) + 1)
    keep = [s for s in range(len(layout.sources)) if present[s]]
    position = {s: i for i, s in enumerate(keep)}
    intervals = called_real_and_hype(called_real, np.array([position[s] for s in case_source]),
                                     [layout.source_is_real[s] for s in keep], resamples=resamples, seed=[seed, 99])
    kept_generators = [s for s in keep if not layout.source_is_real[s]]
    by_generator = dict(zip(kept_generators, intervals["hype_infinity"][:-1], strict=True))
    rows = [by_generator.get(g) for g in generators] + [intervals["hype_infinity"][-1]]
    return [None if row is None or row.estimate is None else (row.estimate, row.low, row.high) for row in rows]


def readers_error_rates(n_real, errors_real, n_fake, errors_fake, rng: np.random.Generator,
                        resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every reader's balanced HYPE-infinity error rate with its bootstrap 95% interval at once, per generator and
    for all generators (the last column): ``bootstrap_error_rate`` vectorised over readers and generators. A reader's
    resampled error counts are binomial draws at the observed rates, drawn as counts per value
    (``binomial_resamples``: the same distribution as ``rng.binomial``'s one draw at a time, a tenth of the cost);
    each generator's draws in random order, so that pairing them resample by resample with the real images' is
    pairing independent draws. ``n_real``, ``errors_real`` are (R,), ``n_fake``, ``errors_fake`` (R, G). Returns
    point, low, high, each (R, G + 1), nan where the reader has no real vote or no vote on the column's fakes."""
    n_real, errors_real = np.asarray(n_real, np.int64), np.asarray(errors_real, np.int64)
    n_fake, errors_fake = np.asarray(n_fake, np.int64), np.asarray(errors_fake, np.int64)
    voted = n_fake > 0  # (R, G)
    real_rate = ratio(errors_real, n_real)  # (R,), nan without real votes
    fake_rate = ratio(errors_fake, n_fake)  # (R, G)
    # the resamples along the last axis: real (R, B), fakes (R, G, B)
    real_draws = (binomial_resamples(n_real, np.nan_to_num(real_rate), resamples, rng, shuffle=False)
                  / np.maximum(n_real, 1)[:, None])
    fake_draws = binomial_resamples(n_fake, np.nan_to_num(fake_rate), resamples, rng) / np.maximum(n_fake, 1)[..., None]
    count = voted.sum(axis=1)  # generators each reader voted on
    mean_fake = np.where(voted[..., None], fake_draws, 0.0).sum(axis=1) / np.maximum(count, 1)[:, None]  # (R, B)
    draws = 0.5 * real_draws[:, None, :] + 0.5 * np.concatenate([fake_draws, mean_fake[:, None, :]], axis=1)
    point_fake = np.concatenate([fake_rate, (np.where(voted, fake_rate, 0.0).sum(axis=1) / np.maximum(count, 1))
                                 [:, None]], axis=1)
    point = 0.5 * real_rate[:, None] + 0.5 * point_fake
    low, high = np.percentile(draws, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)], axis=-1)
    usable = (n_real > 0)[:, None] & np.concatenate([voted, (count > 0)[:, None]], axis=1)
    return (np.where(usable, point, np.nan), np.where(usable, low, np.nan), np.where(usable, high, np.nan))


def hype_infinity(total: np.ndarray, real: np.ndarray, layout: Layout, seed: int = BOOTSTRAP_SEED,
                  resamples: int = BOOTSTRAP_RESAMPLES, votes: Votes | None = None) -> list[dict]:
    """Balanced HYPE-infinity error rate (half the real images' error, half the fakes') per (reader or pooled) x
    (generator or all generators, each generator weighing the same). A reader's interval resamples their votes
    (``readers_error_rates``, all readers at once); the pooled row's resamples readers and cases
    (``two_way_bootstrap``) when ``votes`` are given, else it is left without an interval (pooled votes are not
    independent)."""
    all_findings = -1
    real_columns, generators = layout.real_sources, layout.generators
    n_real = total[:, all_findings][:, real_columns].sum(axis=1)
    errors_real = n_real - real[:, all_findings][:, real_columns].sum(axis=1)
    n_fake = total[:, all_findings][:, generators]
    errors_fake = real[:, all_findings][:, generators]
    generator_labels = [*(layout.sources[g] for g in layout.generators), ALL]
    n_readers = len(layout.readers)
    pooled = _pooled_hype(votes, layout, seed, resamples) if votes is not None else None
    point, low, high = readers_error_rates(n_real[:n_readers], errors_real[:n_readers], n_fake[:n_readers],
                                           errors_fake[:n_readers], np.random.default_rng([seed, 1]), resamples)
    n = (n_real[:, None] + np.concatenate([n_fake, n_fake.sum(axis=1, keepdims=True)], axis=1)).astype(np.int64)
    rows = [list(zip(*(_numbers(array[r]) for array in (point, low, high)), strict=True)) for r in range(n_readers)]
    if pooled is None:  # no votes to resample readers and cases from: the estimate without an interval
        pooled = []
        for g in range(len(generator_labels)):
            columns = slice(g, g + 1) if g < len(generators) else slice(None)
            estimate = bootstrap_error_rate(n_real[n_readers], errors_real[n_readers], n_fake[n_readers, columns],
                                            errors_fake[n_readers, columns], np.random.default_rng(0), resamples=1)
            pooled.append(None if estimate is None else (estimate[0], None, None))
    rows.append([(None, None, None) if cell is None else cell for cell in pooled])
    as_float = lambda value: np.nan if value is None else value  # noqa: E731
    small = is_small_sample(n, np.array([[as_float(cell[1]) for cell in row] for row in rows], dtype=float),
                            np.array([[as_float(cell[2]) for cell in row] for row in rows], dtype=float)).tolist()
    n_ = n.tolist()
    cells = []
    for g, generator in enumerate(generator_labels):
        for r, reader in enumerate(_reader_labels(layout)):
            error_rate, ci_low, ci_high = rows[r][g]
            cells.append({"reader": reader, "generator": generator, "n": n_[r][g], "error_rate": error_rate,
                          "ci_low": ci_low, "ci_high": ci_high, "small_sample": small[r][g]})
    return cells


# --- ROC AUC from confidence ratings -----------------------------------------------------------------------------

def roc_auc(votes: Votes, layout: Layout) -> dict:
    """ROC AUC of the fake-score per (reader or pooled) x (generator or all generators), on rated votes only; each
    reader's with DeLong's 95% interval. The pooled AUC (all readers' votes in one curve) has no interval: its
    reader-averaged counterpart with an interval that counts readers and cases is the MRMC analysis's."""
    rated = ~np.isnan(votes.confidence)
    if not rated.any():
        return {"note": "No vote carries a confidence rating (the study did not ask for one), so there is no ROC AUC: "
                        "the answers alone are binary and give one point of the ROC curve, not a curve; see the "
                        "called-real rates and d' instead.", "binary": True, "cells": []}
    n_readers, n_sources = len(layout.readers), len(layout.sources)
    score = fake_score(votes.called_real[rated], votes.confidence[rated])
    index = (votes.reader[rated] * n_sources + votes.source[rated]) * SCORE_LEVELS + (score.astype(np.int64) - 1)
    histogram = np.bincount(index, minlength=n_readers * n_sources * SCORE_LEVELS)
    histogram = histogram.reshape(n_readers, n_sources, SCORE_LEVELS)
    histogram = np.concatenate([histogram, histogram.sum(axis=0, keepdims=True)], axis=0)
    real_histogram = histogram[:, layout.real_sources].sum(axis=1)
    generator_columns = [*([g] for g in layout.generators), layout.generators]
    generator_labels = [*(layout.sources[g] for g in layout.generators), ALL]
    fake_histogram = np.stack([histogram[:, columns].sum(axis=1) for columns in generator_columns], axis=1)
    auc = auc_from_histograms(real_histogram[:, None, :], fake_histogram)
    _, low, high = delong_intervals(votes.reader[rated], votes.case[rated], votes.source[rated], score,
                                    n_readers=n_readers, real_sources=layout.real_sources,
                                    generators=layout.generators)
    cells = []
    for r, reader in enumerate(_reader_labels(layout)):
        for g, generator in enumerate(generator_labels):
            pooled = r == n_readers
            cells.append({"reader": reader, "generator": generator, "n_real": int(real_histogram[r].sum()),
                          "n_fake": int(fake_histogram[r, g].sum()), "auc": number_or_none(auc[r, g]),
                          "ci_low": None if pooled else number_or_none(low[r, g]),
                          "ci_high": None if pooled else number_or_none(high[r, g])})
    return {"note": "Fake-score: 'fake' with confidence c scores 5 + c, 'real' scores 6 - c; AUC 0.5 is chance. Each "
                    "reader's 95% interval is DeLong's (cases random, this reader only).",
            "binary": False, "cells": cells}


# --- reading time ------------------------------------------------------------------------------------------------

def reader_medians(votes: Votes, n_readers: int) -> np.ndarray:
    """Each reader's median time on image over their timed votes (nan for a reader with none)."""
    timed = ~np.isnan(votes.time_ms)
    readers, times = votes.reader[timed], votes.time_ms[timed]
    medians = np.full(n_readers, np.nan)
    order = np.argsort(readers, kind="stable")
    readers, times = readers[order], times[order]
    bounds = np.searchsorted(readers, np.arange(n_readers + 1), side="left")
    for reader in range(n_readers):
        if bounds[reader + 1] > bounds[reader]:
            medians[reader] = float(np.median(times[bounds[reader]:bounds[reader + 1]]))
    return medians


def reading_time(votes: Votes, layout: Layout) -> dict:
    """Median time on image per reader and pooled, and the called-real and accuracy tallies split at each reader's own
    median: fast reads took at most the median, slow reads longer. Untimed votes are in neither half."""
    n_readers = len(layout.readers)
    timed = ~np.isnan(votes.time_ms)
    medians = reader_medians(votes, n_readers)
    vote_median = medians[votes.reader] if len(votes) else np.array([])
    fast = timed & (votes.time_ms <= vote_median)
    slow = timed & (votes.time_ms > vote_median)
    timed_count = np.bincount(votes.reader[timed], minlength=n_readers)
    halves = {}
    for name, mask in (("fast", fast), ("slow", slow)):
        total, real = count_cube(votes, layout, mask)
        halves[name] = (total[:, -1], real[:, -1])  # all findings
    is_real = np.asarray(layout.source_is_real)
    pooled_median = number_or_none(np.median(votes.time_ms[timed])) if timed.any() else None
    medians_ = [*_numbers(medians), pooled_median]
    timed_ = [*timed_count.tolist(), int(timed.sum())]
    half_tables = {}  # per half, the columns of every reader's entry at once (one conversion, not one per cell)
    for name, (total, real) in halves.items():
        correct = np.where(is_real, real, total - real)
        half_tables[name] = (total.sum(axis=1).tolist(), correct.sum(axis=1).tolist(),
                             _numbers(ratio(correct.sum(axis=1), total.sum(axis=1))), total.tolist(), real.tolist(),
                             _numbers(ratio(real, total)))
    readers = []
    for r, reader in enumerate(_reader_labels(layout)):
        entry = {"reader": reader, "median_ms": medians_[r], "n_timed": timed_[r]}
        for name, (n, correct, accuracy, total, real, rate) in half_tables.items():
            entry[name] = {
                "n": n[r], "correct": correct[r], "accuracy": accuracy[r],
                "by_source": [{"source": source, "n": total[r][s], "called_real": real[r][s], "rate": rate[r][s]}
                              for s, source in enumerate(layout.sources)],
            }
        readers.append(entry)
    return {"note": "Fast = time on image at most the reader's own median; slow = longer.", "readers": readers}


# --- the whole report --------------------------------------------------------------------------------------------

def prevalence_real(votes: Votes, layout: Layout) -> float | None:
    if len(votes) == 0:
        return None
    return float(np.isin(votes.source, layout.real_sources).mean())


def study_statistics(votes: Votes, layout: Layout, seed: int = BOOTSTRAP_SEED,
                     resamples: int = BOOTSTRAP_RESAMPLES) -> dict:
    """Every statistic of the results page, as plain JSON-ready data."""
    total, real = count_cube(votes, layout)
    cases, case_index = unique_inverse(votes.case)
    matrix = reader_case_matrix(case_index, votes.reader, votes.called_real, len(layout.readers))
    case_source = np.zeros(len(cases), dtype=np.int64)
    case_source[case_index] = votes.source
    source_agreement = [
        {"source": source, **agreement(matrix[case_source == s], seed + s + 1, resamples)}
        for s, source in enumerate(layout.sources)
    ]
    return {
        "n_votes": len(votes),
        "readers": layout.readers,
        "findings": layout.findings,
        "sources": layout.sources,
        "generators": [layout.sources[g] for g in layout.generators],
        "chance": CHANCE,
        "prevalence_real": prevalence_real(votes, layout),
        "bootstrap": {"resamples": resamples, "seed": seed},
        "small_sample_rule": f"n < {SMALL_SAMPLE_N} or 95% interval wider than {SMALL_SAMPLE_WIDTH}",
        "called_real": called_real_rates(total, real, layout),
        "detection": detection(total, real, layout),
        "hype_infinity": hype_infinity(total, real, layout, seed, resamples, votes=votes),
        "agreement": {"overall": agreement(matrix, seed, resamples), "by_source": source_agreement},
        "roc_auc": roc_auc(votes, layout),
        "reading_time": reading_time(votes, layout),
    }
