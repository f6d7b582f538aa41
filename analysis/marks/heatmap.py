"""Marks binned over the 224 px image frame and smoothed: the density a heat map draws."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from .regions import IMAGE_SIZE

BINS = 56  # 4 image pixels a bin


def mark_density(x: np.ndarray, y: np.ndarray, bins: int = BINS, sigma_px: float = 6.0) -> np.ndarray:
    """(bins, bins) marks per bin (rows are y, top first), smoothed with a Gaussian of ``sigma_px`` image pixels;
    it sums to the number of marks (mass leaving the frame is reflected back)."""
    counts, _, _ = np.histogram2d(np.asarray(y, dtype=float), np.asarray(x, dtype=float), bins=bins,
                                  range=[[0, IMAGE_SIZE], [0, IMAGE_SIZE]])
    return gaussian_filter(counts, sigma=sigma_px * bins / IMAGE_SIZE, mode="reflect")
