"""Chest-like phantom images the demo draws itself (no patient data): a thorax with lungs, spine, ribs and heart,
one finding drawn in, and a per-source texture so that the demo has something to tell apart."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

SIZE = 224


def _ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def _smooth(field: np.ndarray, passes: int) -> np.ndarray:
    return gaussian_filter(field, sigma=0.6 * passes, mode="nearest")


def draw_chest(finding: str, source: str, seed: int) -> np.ndarray:
    """A 224x224 uint8 chest-like radiograph with ``finding`` drawn in; ``source`` changes the texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    jitter = rng.normal(0, 3, size=8)
    image = np.full((SIZE, SIZE), 40.0, dtype=np.float32)
    image[_ellipse(yy, xx, 128 + jitter[0], 112, 110, 96 + jitter[1])] = 150.0  # soft tissue of the thorax
    left = _ellipse(yy, xx, 112 + jitter[2], 70 + jitter[3], 72, 34)
    right = _ellipse(yy, xx, 112 + jitter[4], 154 + jitter[5], 72, 34)
    image[left | right] = 62.0  # aerated lungs are dark
    for rib in range(7):  # ribs: faint bright arcs across both lungs
        y0 = 58 + rib * 19 + jitter[6]
        arc = np.abs(yy - (y0 + 0.004 * (xx - 112) ** 2)) < 2.2
        image[arc & (left | right)] += 28.0
    image[(np.abs(xx - 112) < 9) & (yy > 30)] = 196.0  # spine
    lung = left if rng.random() < 0.5 else right
    if finding == "effusion":
        image[lung & (yy > 150 + rng.integers(-8, 8))] = 165.0
    elif finding == "atelectasis":
        image[lung & (np.abs(yy - (120 + 0.3 * (xx - 112))) < 6)] = 140.0
    elif finding in ("infiltration", "pneumonia"):
        cloud = _smooth(rng.random((SIZE, SIZE)).astype(np.float32), 6 if finding == "infiltration" else 14)
        threshold = np.quantile(cloud[lung], 0.55 if finding == "pneumonia" else 0.7)
        image[lung & (cloud > threshold)] += 55.0 if finding == "pneumonia" else 35.0
    elif finding == "pneumothorax":
        edge = _ellipse(yy, xx, 100, 70 if lung is left else 154, 50, 22)
        image[lung & ~edge] = 30.0
    heart_r = 28 + jitter[7]
    if finding == "cardiomegaly":
        heart_r *= 1.45
    image[_ellipse(yy, xx, 152, 128, heart_r * 0.75, heart_r)] = 170.0
    image = _smooth(image, 3)
    image *= 1.0 - 0.35 * (((yy - 112) / 160) ** 2 + ((xx - 112) / 160) ** 2)  # exposure falls off at the edges
    noise = rng.normal(0, 6.0, size=(SIZE, SIZE)).astype(np.float32)
    if source == "stargan":
        image = _smooth(image, 4) + _smooth(noise, 2)
    elif source == "pix2pix":
        image = image + noise + 5.0 * ((xx.astype(int) // 2 + yy.astype(int) // 2) % 2)  # checkerboard artefact
    elif source == "pix2pix-n":
        image = image + 0.6 * noise + 3.0 * np.sin(xx / 3.0)
    else:
        image = image + noise
    return np.clip(image, 0, 255).astype(np.uint8)


def chest_png(finding: str, source: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(draw_chest(finding, source, seed)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
