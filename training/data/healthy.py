"""The healthy pool of Pix2Pix-N: No Finding images, each with a random box of "reasonable size".

A box's size (w, h) is that of one real box drawn at random, its centre that of another real box drawn at random; the
box is then shifted (never resized, unless larger than the region) to lie inside the extent the real boxes span, so it
stays inside the image whatever the frame (1024 for NIH's PNGs, smaller for a phantom set).
"""

from __future__ import annotations

import logging

import numpy as np

from training.data.nih import HEALTHY, BoxAnnotation, DataError, NIHIndex

log = logging.getLogger(__name__)


def healthy_pool(
    index: NIHIndex, size: int = 2000, seed: int = 0, exclude: set[str] | None = None
) -> list[BoxAnnotation]:
    """A seeded sample of ``size`` No Finding images with random boxes (all of them if fewer exist, logged)."""
    candidates = [name for name in index.healthy_images() if not exclude or name not in exclude]
    if not candidates:
        raise DataError(f"{index.data_dir}: the healthy pool is empty (no 'No Finding' image in Data_Entry)")
    if not index.boxes:
        raise DataError(f"{index.data_dir}: no real boxes to draw the healthy pool's box sizes from")
    rng = np.random.default_rng([seed, 2000])
    if size > len(candidates):
        log.warning("healthy pool: asked for %d images, only %d No Finding images exist; using all", size,
                    len(candidates))
        size = len(candidates)
    chosen = sorted(rng.choice(len(candidates), size=size, replace=False))
    real = np.array([b.xywh for b in index.boxes], dtype=np.float64)
    left, top = real[:, 0].min(), real[:, 1].min()
    right, bottom = (real[:, 0] + real[:, 2]).max(), (real[:, 1] + real[:, 3]).max()
    pool = []
    for k in chosen:
        w, h = real[rng.integers(len(real)), 2:4]
        source = real[rng.integers(len(real))]
        cx, cy = source[0] + source[2] / 2, source[1] + source[3] / 2
        w, h = min(w, right - left), min(h, bottom - top)
        x = float(np.clip(cx - w / 2, left, right - w))
        y = float(np.clip(cy - h / 2, top, bottom - h))
        pool.append(BoxAnnotation(candidates[k], HEALTHY, x, y, float(w), float(h)))
    return pool
