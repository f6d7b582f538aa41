"""Did readers mark what the generator changed? For images generated everywhere (StarGAN) whose origin is known.

StarGAN translates a whole real image, so every pixel is generated, but not every pixel changed alike: the change map
(``regions.change_map``: the absolute difference from the origin, 0..1) says where the translation did its work. Each
image's **most-changed pixels** are those above its own ``CHANGE_QUANTILE`` (the 75th percentile) of change: a
quarter of the image, less where many pixels tie at the threshold (the map has 256 levels), so each image's share is
measured from its own mask, never assumed.

**Change attraction** (per group, e.g. StarGAN x Effusion): the share of the readers' marks on the most-changed
pixels against the share a mark placed uniformly at random would have (those pixels' share of the image, averaged
over the marks). Their ratio is 1 when readers mark the changed pixels as often as their area predicts, above 1 when
what StarGAN changed drew their marks (the translation gave itself away where it worked), below 1 when readers found
the image out elsewhere. It is the box-avoidance ratio's rule (``statistics.region_share``) on another region, with
the same two-way bootstrap interval: it speaks for **other readers like these reading other images of the same
generator and finding whose origins are known**. Validated by simulation (``simulate.simulate_change_marks``,
``tests/marks/test_change_attraction.py``, ``bench/bench_marks.py --figure change``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .regions import IMAGE_SIZE
from .statistics import RESAMPLES, SEED, MarkData, RegionShare, region_share

CHANGE_QUANTILE = 0.75


def most_changed(change: np.ndarray, quantile: float = CHANGE_QUANTILE) -> np.ndarray:
    """(224, 224) bool: the pixels whose change is above the image's own ``quantile`` of change (none where the image
    did not change at all)."""
    change = np.asarray(change, dtype=float)
    if change.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"a change map is {IMAGE_SIZE}x{IMAGE_SIZE}, not {change.shape}")
    return change > np.quantile(change, quantile)


def on_mask(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Whether each point (x, y in the 224 px frame) falls on a True pixel of ``mask`` (the pixel holding the point;
    points on the far edges count for the last pixel)."""
    column = np.clip(np.floor(np.asarray(x, dtype=float)).astype(np.int64), 0, IMAGE_SIZE - 1)
    row = np.clip(np.floor(np.asarray(y, dtype=float)).astype(np.int64), 0, IMAGE_SIZE - 1)
    return np.asarray(mask, dtype=bool)[row, column]


def change_attraction(data: MarkData, case_in_group: np.ndarray, changed: Sequence[np.ndarray | None], *,
                      alpha: float = 0.05, resamples: int = RESAMPLES, seed: int = SEED) -> RegionShare:
    """The change attraction (module docstring) over the group's cases that have a most-changed mask (``changed``:
    one per case, None where the origin is unknown or the case is not all generated)."""
    if len(changed) != len(data.cases):
        raise ValueError(f"one mask (or None) per case: {len(changed)} for {len(data.cases)} cases")
    area = np.array([0.0 if mask is None else float(np.mean(mask)) for mask in changed])
    hit = np.zeros(len(data.mark_read), dtype=bool)
    for case in np.unique(data.mark_case):
        if changed[case] is not None:
            at = data.mark_case == case
            hit[at] = on_mask(data.mark_x[at], data.mark_y[at], changed[case])
    return region_share(data, case_in_group, hit, area, alpha=alpha, resamples=resamples, seed=seed)
