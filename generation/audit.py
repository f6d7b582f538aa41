"""The pathology-preservation audit and the quality figures of the regenerated surroundings.

Both run at the working size, on the uint8 images the generators return, before the final pipeline: that is where the
box must be bit-identical to the real image (the final resize, identical for all sources, would blend its edge).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from skimage.metrics import structural_similarity


@dataclass(frozen=True)
class BoxCheck:
    identical: bool
    max_abs_diff: int


@dataclass(frozen=True)
class Quality:
    ssim: float
    psnr: float


def check_box_identity(original_u8: np.ndarray, generated_u8: np.ndarray, mask: np.ndarray) -> BoxCheck:
    """Whether every pixel inside the box (mask > 0) of the generated image equals the original's."""
    if original_u8.shape != generated_u8.shape or mask.shape != original_u8.shape:
        raise ValueError(f"shape mismatch: {original_u8.shape}, {generated_u8.shape}, {mask.shape}")
    inside = mask > 0
    if not inside.any():
        raise ValueError("the box covers no pixel")
    diff = np.abs(original_u8[inside].astype(np.int16) - generated_u8[inside].astype(np.int16))
    max_diff = int(diff.max())
    return BoxCheck(identical=max_diff == 0, max_abs_diff=max_diff)


def surroundings_quality(reference_u8: np.ndarray, generated_u8: np.ndarray,
                         region: np.ndarray | None = None) -> Quality:
    """SSIM and PSNR of ``generated`` against ``reference`` over ``region`` (mask > 0; the whole image when None).

    SSIM is the mean of scikit-image's local SSIM map over the region (7x7 windows, data range 255); PSNR is computed
    from the mean squared error over the region's pixels (infinite PSNR is reported as 99.0 dB, the JSON-safe cap).
    """
    if reference_u8.shape != generated_u8.shape:
        raise ValueError(f"shape mismatch: {reference_u8.shape} vs {generated_u8.shape}")
    selected = np.ones(reference_u8.shape, dtype=bool) if region is None else region > 0
    if not selected.any():
        raise ValueError("the region covers no pixel")
    _, ssim_map = structural_similarity(reference_u8, generated_u8, data_range=255, full=True)
    ssim = float(ssim_map[selected].mean())
    errors = reference_u8[selected].astype(np.float64) - generated_u8[selected].astype(np.float64)
    mse = float(np.mean(errors * errors))
    psnr = 99.0 if mse == 0 else min(99.0, 10 * math.log10(255.0 ** 2 / mse))
    return Quality(ssim=round(ssim, 4), psnr=round(psnr, 2))


def summarise_quality(records: list[dict]) -> dict:
    """Per source and finding: counts, mean/min/max SSIM and PSNR, and box-identity counts, from per-image records."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        groups.setdefault((record["source"], record["finding"]), []).append(record)
    summary: dict[str, dict[str, dict]] = {}
    for (source, finding), group in sorted(groups.items()):
        entry: dict = {"images": len(group)}
        for key in ("ssim", "psnr"):
            values = [r[key] for r in group if r.get(key) is not None]
            if values:
                entry[key] = {"mean": round(float(np.mean(values)), 4), "min": round(float(np.min(values)), 4),
                              "max": round(float(np.max(values)), 4)}
        checked = [r for r in group if r.get("box_identical") is not None]
        if checked:
            entry["box_identical"] = sum(1 for r in checked if r["box_identical"])
            entry["box_checked"] = len(checked)
        summary.setdefault(source, {})[finding] = entry
    return summary
