"""The marks against the pixels: did readers avoid the kept box, how often did they mark, and did they find the
generated region (a wAFROC-style figure of merit).

**Box avoidance** (per group of box-kept fakes, e.g. Pix2Pix x Effusion): of the marks readers put on these images,
the share inside the kept box, against the share a mark placed uniformly at random would have (the box's share of the
image, averaged over the marks). Their ratio is 1 when readers mark the box as often as its size predicts, below 1
when they avoid it (the pathology looked real: what gave the image away was elsewhere), above 1 when the box drew
their marks.

**Marks per read** (per source): marks per image read, real images against each generator's.

Both are ratios of sums over reader x case cells. Their intervals come from a **two-way bootstrap**, the method of
``readerstudy/results/two_way_bootstrap.py`` (the project's interval for pooled figures): the readers are resampled
with replacement, and separately the cases; the two bootstrap variances, each scaled by n / (n - 1), add up to the
figure's variance, and the interval is a t interval with Satterthwaite's df. Here it is written for a ratio of two
sums (and not clipped to 0..1, which that module's proportions are). It treats readers and cases as random: the
interval speaks for **other readers like these reading other images from the same generator and finding**. Its
coverage is checked by simulation (``simulate.py``, ``tests/marks/test_marks_simulation.py``).

**Localisation** (wAFROC with one lesion per fake, its generated region, of weight 1): per reader, the probability
that a fake's highest-rated mark *on its generated region* outrates a real image's highest-rated mark, unmarked
counting below every mark and ties half. ``localisation_scores`` gives that per-read score; with one lesion per case it
is the Wilcoxon AUC of these scores, so the project's OR-Hillis code analyses it like the AUC (the web app does that).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

from .regions import CaseTruth, PixelKind, in_box, on_generated

RESAMPLES = 2000
SEED = 20_190_415
UNMARKED = 0.0  # the localisation score of a read without a counted mark: below every rating (ratings are >= 1)


@dataclass(frozen=True)
class MarkData:
    """First-showing reads and their marks, as plain arrays.

    ``read_reader`` / ``read_case`` (n_reads,) index the readers (0..n_readers-1) and ``cases``; each mark names its
    read (``mark_read``), its point in the 224 px frame and its rating (the mark's confidence; nan where the study
    asks none, which counts as 1)."""

    n_readers: int
    cases: list[CaseTruth]
    read_reader: np.ndarray
    read_case: np.ndarray
    mark_read: np.ndarray
    mark_x: np.ndarray
    mark_y: np.ndarray
    mark_rating: np.ndarray

    @classmethod
    def build(cls, *, n_readers: int, cases: list[CaseTruth], read_reader, read_case, mark_read=(), mark_x=(),
              mark_y=(), mark_rating=None) -> MarkData:
        mark_read = np.asarray(mark_read, dtype=np.int64)
        rating = np.full(len(mark_read), np.nan) if mark_rating is None else np.asarray(mark_rating, dtype=float)
        return cls(n_readers=n_readers, cases=list(cases), read_reader=np.asarray(read_reader, dtype=np.int64),
                   read_case=np.asarray(read_case, dtype=np.int64), mark_read=mark_read,
                   mark_x=np.asarray(mark_x, dtype=float), mark_y=np.asarray(mark_y, dtype=float), mark_rating=rating)

    @property
    def mark_case(self) -> np.ndarray:
        return self.read_case[self.mark_read]

    @property
    def mark_reader(self) -> np.ndarray:
        return self.read_reader[self.mark_read]

    def marks_in_box(self) -> np.ndarray:
        """(n_marks,) bool: the mark lies in its image's kept box."""
        inside = np.zeros(len(self.mark_read), dtype=bool)
        for case in np.unique(self.mark_case):
            box = self.cases[case].kept_box
            if box is not None:
                at = self.mark_case == case
                inside[at] = in_box(self.mark_x[at], self.mark_y[at], box)
        return inside

    def marks_on_generated(self) -> np.ndarray:
        """(n_marks,) bool: the mark falls on generated pixels of its image."""
        hit = np.zeros(len(self.mark_read), dtype=bool)
        for case in np.unique(self.mark_case):
            at = self.mark_case == case
            hit[at] = on_generated(self.mark_x[at], self.mark_y[at], self.cases[case])
        return hit

    def cells(self, per_mark: np.ndarray) -> np.ndarray:
        """(R, K) sums of a per-mark value over each reader x case cell."""
        table = np.zeros((self.n_readers, len(self.cases)))
        np.add.at(table, (self.mark_reader, self.mark_case), per_mark)
        return table

    def read_cells(self) -> np.ndarray:
        """(R, K) 1 where the reader read the case."""
        table = np.zeros((self.n_readers, len(self.cases)))
        table[self.read_reader, self.read_case] = 1.0
        return table


@dataclass(frozen=True)
class RatioEstimate:
    """A ratio of two sums over reader x case cells with its two-way bootstrap interval (None where undefined).
    ``readers`` and ``cases``: how many carried any of the denominator (what the interval rests on)."""

    estimate: float | None
    low: float | None
    high: float | None
    readers: int
    cases: int
    df: float | None = None


def ratio_interval(numerator: np.ndarray, denominator: np.ndarray, *, alpha: float = 0.05,
                   resamples: int = RESAMPLES, seed: int = SEED) -> RatioEstimate:
    """Σ numerator / Σ denominator over (R, K) cells, with the two-way bootstrap interval (module docstring)."""
    numerator, denominator = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    readers = np.flatnonzero(denominator.sum(axis=1) > 0)
    cases = np.flatnonzero(denominator.sum(axis=0) > 0)
    if not len(cases):
        return RatioEstimate(None, None, None, 0, 0)
    numerator, denominator = numerator[np.ix_(readers, cases)], denominator[np.ix_(readers, cases)]
    n_readers, n_cases = len(readers), len(cases)
    point = float(numerator.sum() / denominator.sum())
    if n_readers < 2 or n_cases < 2:
        return RatioEstimate(point, None, None, n_readers, n_cases)
    rng = np.random.default_rng(seed)
    reader_weights = _counts(rng.integers(0, n_readers, (resamples, n_readers)), n_readers)
    case_weights = _counts(rng.integers(0, n_cases, (resamples, n_cases)), n_cases)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reader_draws = (reader_weights @ numerator.sum(axis=1)) / (reader_weights @ denominator.sum(axis=1))
        case_draws = (case_weights @ numerator.sum(axis=0)) / (case_weights @ denominator.sum(axis=0))
        reader_var = np.nanvar(reader_draws) * n_readers / (n_readers - 1)
        case_var = np.nanvar(case_draws) * n_cases / (n_cases - 1)
    total = reader_var + case_var
    if not np.isfinite(total) or total <= 0:
        # every resample gives the same ratio (e.g. no mark at all inside any box): the bootstrap cannot say how
        # uncertain it is, and [0, 0] would claim certainty; no interval
        return RatioEstimate(point, None, None, n_readers, n_cases)
    df = total**2 / (reader_var**2 / (n_readers - 1) + case_var**2 / (n_cases - 1))
    half = float(special.stdtrit(df, 1 - alpha / 2)) * np.sqrt(total)
    return RatioEstimate(point, max(0.0, float(point - half)), float(point + half), n_readers, n_cases, float(df))


def _counts(picks: np.ndarray, size: int) -> np.ndarray:
    """How often each of ``size`` indices occurs in each row of ``picks`` (B x n), as (B x size) floats."""
    rows = picks.shape[0]
    offsets = (np.arange(rows, dtype=np.int64)[:, None] * size + picks).ravel()
    return np.bincount(offsets, minlength=rows * size).reshape(rows, size).astype(float)


@dataclass(frozen=True)
class BoxAvoidance:
    """Marks on box-kept fakes: how many, the share inside the box, the box's share of the image (averaged over the
    marks: where a uniformly random mark would land), and their ratio with its interval."""

    marks: int
    images: int
    share_inside: float | None
    box_share: float | None
    ratio: RatioEstimate


@dataclass(frozen=True)
class RegionShare:
    """Marks on a group's images against one region of each image: how many marks and images, the share of the marks
    on the region, the region's share of the image averaged over the marks (where uniformly random marks would land),
    and their ratio with its interval."""

    marks: int
    images: int
    share_on: float | None
    area_share: float | None
    ratio: RatioEstimate


def region_share(data: MarkData, case_in_group: np.ndarray, mark_on_region: np.ndarray, area_fraction: np.ndarray, *,
                 alpha: float = 0.05, resamples: int = RESAMPLES, seed: int = SEED) -> RegionShare:
    """The share of the group's marks on a region against the region's share of the image, over the cases of the
    group whose region has an area. ``mark_on_region``: (n_marks,) bool; ``area_fraction``: (K,) each case's region
    as a share of its image. The one rule behind box avoidance and the change attraction (``changes.py``)."""
    fraction = np.asarray(area_fraction, dtype=float)
    member = np.asarray(case_in_group, dtype=bool) & (fraction > 0)
    counted = member[data.mark_case]
    on = data.cells(np.where(counted, mark_on_region, 0.0))
    expected = data.cells(np.where(counted, fraction[data.mark_case], 0.0))
    marks = int(counted.sum())
    ratio = ratio_interval(on, expected, alpha=alpha, resamples=resamples, seed=seed)
    if not marks:
        return RegionShare(0, 0, None, None, ratio)
    return RegionShare(marks=marks, images=len(np.unique(data.mark_case[counted])), share_on=float(on.sum() / marks),
                       area_share=float(expected.sum() / marks), ratio=ratio)


def box_avoidance(data: MarkData, case_in_group: np.ndarray, *, alpha: float = 0.05, resamples: int = RESAMPLES,
                  seed: int = SEED) -> BoxAvoidance:
    """Box avoidance over the group's box-kept cases (``case_in_group``: (K,) bool)."""
    fraction = np.array([case.box_fraction for case in data.cases])
    result = region_share(data, case_in_group, data.marks_in_box(), fraction, alpha=alpha, resamples=resamples,
                          seed=seed)
    return BoxAvoidance(marks=result.marks, images=result.images, share_inside=result.share_on,
                        box_share=result.area_share, ratio=result.ratio)


def marks_per_read(data: MarkData, case_in_group: np.ndarray, *, alpha: float = 0.05, resamples: int = RESAMPLES,
                   seed: int = SEED) -> RatioEstimate:
    """Marks per image read over the group's cases, with its interval."""
    member = np.asarray(case_in_group, dtype=bool)
    marks = data.cells(member[data.mark_case].astype(float))
    reads = data.read_cells() * member[None, :]
    return ratio_interval(marks, reads, alpha=alpha, resamples=resamples, seed=seed)


def localisation_scores(data: MarkData) -> np.ndarray:
    """(n_reads,) the score a read gets in the wAFROC-style figure: on a fake, the highest rating of its marks on
    generated pixels (a lesion localisation); on a real image, the highest rating of any mark (a false positive);
    ``UNMARKED`` where there is none."""
    rating = np.where(np.isnan(data.mark_rating), 1.0, data.mark_rating)
    is_fake = np.array([case.is_fake for case in data.cases], dtype=bool)
    counts = np.where(is_fake[data.mark_case], data.marks_on_generated(), True)
    scores = np.full(len(data.read_case), UNMARKED)
    np.maximum.at(scores, data.mark_read[counts], rating[counts])
    return scores


def wafroc(data: MarkData, fake_in_group: np.ndarray | None = None) -> np.ndarray:
    """(R,) each reader's wAFROC figure (one lesion per fake, weight 1) over the real images and the fakes in
    ``fake_in_group`` ((K,) bool; all fakes by default); nan for a reader without both. Computed directly from the
    definition (every real x fake pair), as a check on the AUC route the OR analysis takes."""
    scores = localisation_scores(data)
    is_fake = np.array([case.is_fake for case in data.cases], dtype=bool)
    group = is_fake if fake_in_group is None else is_fake & np.asarray(fake_in_group, dtype=bool)
    figures = np.full(data.n_readers, np.nan)
    for reader in range(data.n_readers):
        own = data.read_reader == reader
        normal = scores[own & ~is_fake[data.read_case]]
        lesion = scores[own & group[data.read_case]]
        if len(normal) and len(lesion):
            compare = lesion[:, None] - normal[None, :]
            figures[reader] = float(((compare > 0) + 0.5 * (compare == 0)).mean())
    return figures


__all__ = ["UNMARKED", "BoxAvoidance", "MarkData", "PixelKind", "RatioEstimate", "RegionShare", "box_avoidance",
           "localisation_scores", "marks_per_read", "ratio_interval", "region_share", "wafroc"]
