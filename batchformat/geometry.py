"""The crop and resize that bring every study image to 224x224, and where a box lands on the way.

The margin is a fraction of each side, cut from all four sides (rounded half to even, as Python's ``round``); what is
left is resized to 224x224 with the one fixed filter. An image already 224x224 is left as it is, and a crop that
leaves exactly 224x224 is not resampled, so no pixel is touched by a filter it does not need.
"""
from __future__ import annotations

from PIL import Image

FINAL_SIZE = 224
RESAMPLE = Image.Resampling.LANCZOS
MAX_CROP_MARGIN = 0.25  # exclusive: half the image gone from each axis would leave nothing worth reading

Box = tuple[float, float, float, float]  # x, y (the top-left corner), width, height


def check_crop_margin(crop_margin: float) -> None:
    """ValueError unless the margin is in [0, 0.25)."""
    if not 0 <= crop_margin < MAX_CROP_MARGIN:
        raise ValueError(f"crop margin must be in [0, {MAX_CROP_MARGIN}), got {crop_margin}")


def crop_offsets(width: int, height: int, crop_margin: float) -> tuple[int, int]:
    """The pixels cut from each side of a ``width`` x ``height`` image: (left and right, top and bottom)."""
    return round(width * crop_margin), round(height * crop_margin)


def crop_and_resize(image: Image.Image, crop_margin: float) -> Image.Image:
    """Cut ``crop_margin`` of each side and resize what is left to 224x224 (a non-square image is stretched)."""
    if image.size == (FINAL_SIZE, FINAL_SIZE):
        return image
    width, height = image.size
    dx, dy = crop_offsets(width, height, crop_margin)
    if dx or dy:
        image = image.crop((dx, dy, width - dx, height - dy))
    if image.size != (FINAL_SIZE, FINAL_SIZE):
        image = image.resize((FINAL_SIZE, FINAL_SIZE), RESAMPLE)
    return image


def box_after_crop_and_resize(box: Box, *, width: float, height: float, crop_margin: float) -> Box:
    """Where a box given in a ``width`` x ``height`` image's pixels lands in the 224x224 image (clipped to it,
    rounded to 0.01 px); a box in the cut margin ends on the edge, empty."""
    if (width, height) == (FINAL_SIZE, FINAL_SIZE):
        return tuple(float(value) for value in box)
    dx, dy = crop_offsets(width, height, crop_margin)
    sx, sy = FINAL_SIZE / (width - 2 * dx), FINAL_SIZE / (height - 2 * dy)
    x, y, w, h = box
    x0 = min(float(FINAL_SIZE), max(0.0, (x - dx) * sx))
    y0 = min(float(FINAL_SIZE), max(0.0, (y - dy) * sy))
    x1, y1 = min(FINAL_SIZE, (x + w - dx) * sx), min(FINAL_SIZE, (y + h - dy) * sy)
    return (round(x0, 2), round(y0, 2), round(max(0.0, x1 - x0), 2), round(max(0.0, y1 - y0), 2))
