"""The one final pipeline every image goes through, real or generated, so that nothing but the generator differs.

working size (the generators' size) -> 256x256 -> crop the same margin on each side -> 224x224 with the same filter ->
8-bit gray PNG with only IHDR, IDAT and IEND chunks. The crop and resize, the box geometry and the PNG chunk walk are
the batch format's (:mod:`batchformat`), the same code the batch import runs.
"""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from batchformat.geometry import (
    FINAL_SIZE,
    RESAMPLE,
    box_after_crop_and_resize,
    check_crop_margin,
    crop_and_resize,
    crop_offsets,
)
from batchformat.png import png_chunk_types as _png_chunk_types

STUDY_SIZE = 256
# 16 px of 256 on each side: removes the generators' border artefacts and leaves exactly 224 px, so the final resize
# is the identity at the default and no second resampling touches any source.
DEFAULT_CROP_MARGIN = 16 / 256
# Fast zlib level: the batch import re-encodes every image with its own fixed setting, so only speed matters here.
PNG_COMPRESS_LEVEL = 1


def crop_pixels(crop_margin: float, size: int = STUDY_SIZE) -> int:
    """The number of pixels cut from each side of a ``size`` image for a margin given as a fraction."""
    check_crop_margin(crop_margin)
    return crop_offsets(size, size, crop_margin)[0]


def to_study_size(image_u8: np.ndarray) -> np.ndarray:
    """Bring a square uint8 image from the working size to 256x256 (identity when it already is)."""
    _check_gray_u8(image_u8)
    if image_u8.shape == (STUDY_SIZE, STUDY_SIZE):
        return image_u8
    resized = Image.fromarray(image_u8).resize((STUDY_SIZE, STUDY_SIZE), RESAMPLE)
    return np.asarray(resized, dtype=np.uint8)


def finalise(image_256: np.ndarray, crop_margin: float) -> np.ndarray:
    """Crop the margin from a 256x256 image and resize to 224x224 with the fixed filter."""
    _check_gray_u8(image_256)
    if image_256.shape != (STUDY_SIZE, STUDY_SIZE):
        raise ValueError(f"expected a {STUDY_SIZE}x{STUDY_SIZE} image, got {image_256.shape}")
    check_crop_margin(crop_margin)
    return np.asarray(crop_and_resize(Image.fromarray(image_256), crop_margin), dtype=np.uint8)


def encode_png(image_u8: np.ndarray) -> bytes:
    """8-bit gray PNG, fixed compression, no ancillary chunks (no text, no gamma, no pHYs, no time)."""
    _check_gray_u8(image_u8)
    buffer = io.BytesIO()
    Image.fromarray(image_u8).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    return buffer.getvalue()


def final_png(image_working: np.ndarray, crop_margin: float) -> bytes:
    """The whole final pipeline: working size -> 256 -> crop -> 224 -> PNG."""
    return encode_png(finalise(to_study_size(image_working), crop_margin))


def resampling_reach(from_size: int, crop_margin: float) -> int:
    """How far (in final pixels) from a box edge the two resizes can carry pixels from outside the box.

    Lanczos (a = 3) reads 3 source pixels each side, stretched by the scale when enlarging; a resize that is the
    identity reaches nowhere. The second resize applies to what the first produced, so the reaches add up.
    """
    cut = crop_pixels(crop_margin)
    final_scale = FINAL_SIZE / (STUDY_SIZE - 2 * cut)
    first = 0 if from_size == STUDY_SIZE else math.ceil(3 * max(1.0, STUDY_SIZE / from_size)) + 1
    second = 0 if STUDY_SIZE - 2 * cut == FINAL_SIZE else math.ceil(3 * max(1.0, final_scale)) + 1
    return math.ceil(first * final_scale) + second


def box_in_final_image(box_xywh: tuple[float, float, float, float], from_size: int,
                       crop_margin: float) -> tuple[float, float, float, float]:
    """Where a box given in ``from_size`` pixels lies in the final 224x224 image (clipped to it)."""
    check_crop_margin(crop_margin)
    scale = STUDY_SIZE / from_size
    box_256 = tuple(value * scale for value in box_xywh)
    return box_after_crop_and_resize(box_256, width=STUDY_SIZE, height=STUDY_SIZE, crop_margin=crop_margin)


def png_chunk_types(png: bytes) -> list[str]:
    """The chunk types of a PNG in order, as text (used by the tests and by the audit of the written set)."""
    return [chunk_type.decode("ascii") for chunk_type in _png_chunk_types(png)]


def _check_gray_u8(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f"expected a 2-D uint8 gray image, got {image.dtype} {image.shape}")
