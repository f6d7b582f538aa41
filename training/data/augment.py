"""Joint augmentation of an image and its box, as in the paper: small rotations, reflections and random crops.

One affine map is drawn per sample (zoom-and-crop as pix2pix's 286 -> 256 jitter, a rotation of a few degrees about the
centre, a left-right reflection with probability 1/2) and applied to the image (bilinear) and to the box's corners; the
new box is the axis-aligned hull of the moved corners, clipped to the image, so it still covers the lesion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from training.data.images import Box


@dataclass(frozen=True)
class AugmentSettings:
    max_rotation_deg: float = 5.0
    max_crop_zoom: float = 1.12
    flip: bool = True


def _draw_affine(rng: np.random.Generator, size: int, settings: AugmentSettings) -> tuple[np.ndarray, np.ndarray]:
    """Forward map q = A p + b in continuous (x, y) pixel coordinates (pixel i spans [i, i+1))."""
    zoom = rng.uniform(1.0, settings.max_crop_zoom)
    shift = rng.uniform(0.0, (zoom - 1.0) * size, size=2)
    angle = math.radians(rng.uniform(-settings.max_rotation_deg, settings.max_rotation_deg))
    flip = settings.flip and rng.random() < 0.5
    centre = np.array([size / 2, size / 2])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    a = rotation @ (np.eye(2) * zoom)
    b = rotation @ (-shift - centre) + centre
    if flip:
        mirror = np.diag([-1.0, 1.0])
        a, b = mirror @ a, mirror @ b + np.array([size, 0.0])
    return a, b


def apply_affine_image(image: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Resample ``image`` (uint8 HxW) under q = A p + b; outside pixels take the nearest edge value."""
    inverse = np.linalg.inv(a)
    swap = np.array([[0.0, 1.0], [1.0, 0.0]])  # (x, y) <-> (row, col)
    matrix = swap @ inverse @ swap
    offset = swap @ (inverse @ (np.full(2, 0.5) - b)) - 0.5
    out = ndimage.affine_transform(image.astype(np.float32), matrix, offset=offset, order=1, mode="nearest")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def apply_affine_box(box: Box, a: np.ndarray, b: np.ndarray, size: int) -> Box:
    x, y, w, h = box
    corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]])
    moved = corners @ a.T + b
    x0, y0 = np.clip(moved.min(axis=0), 0, size)
    x1, y1 = np.clip(moved.max(axis=0), 0, size)
    return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def augment_pair(image: np.ndarray, box: Box, rng: np.random.Generator,
                 settings: AugmentSettings = AugmentSettings()) -> tuple[np.ndarray, Box]:
    """The image and its box under one random affine map. If the crop would cut away over half of the box, the map is
    redrawn without zoom, so a box is never lost."""
    size = image.shape[0]
    a, b = _draw_affine(rng, size, settings)
    moved = apply_affine_box(box, a, b, size)
    unclipped_area = box[2] * box[3] * abs(np.linalg.det(a))
    if moved[2] * moved[3] < 0.5 * unclipped_area:
        a, b = _draw_affine(rng, size, AugmentSettings(settings.max_rotation_deg, 1.0, settings.flip))
        moved = apply_affine_box(box, a, b, size)
    return apply_affine_image(image, a, b), moved
