"""Reading NIH PNGs as 8-bit gray at the training size, and box geometry at that size."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from training.data.nih import DataError

Box = tuple[float, float, float, float]


def read_xray(path: Path) -> np.ndarray:
    """The image at ``path`` at its own size as uint8 HxW gray.

    NIH's PNGs are 8-bit gray; a few are RGBA (alpha dropped, luminance kept) or 16-bit (scaled down by the depth
    actually used: 12-bit data by 4095, else by 65535). A missing or unreadable file raises :class:`DataError`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: image file not found")
    try:
        with Image.open(path) as image:
            image.load()
            return _to_gray_u8(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: cannot decode image ({error})") from None


def _to_gray_u8(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        depth = 4095.0 if values.max(initial=0) <= 4095 else 65535.0
        return np.clip(np.rint(values / depth * 255.0), 0, 255).astype(np.uint8)
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    if image.mode != "L":
        image = image.convert("RGBA").convert("RGB").convert("L") if "A" in image.mode else image.convert("L")
    return np.asarray(image, dtype=np.uint8).copy()


def resize_u8(gray: np.ndarray, size: int) -> np.ndarray:
    """Antialiased (Lanczos, support scaled with the reduction) resize of uint8 gray to ``size`` x ``size``."""
    if gray.shape == (size, size):
        return gray
    resized = Image.fromarray(gray).resize((size, size), resample=Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.uint8).copy()


def load_xray(path: Path, size: int = 256) -> np.ndarray:
    """The NIH image at ``path`` as uint8 ``size`` x ``size`` gray (antialiased resize)."""
    return resize_u8(read_xray(path), size)


def load_xray_with_frame(path: Path, size: int = 256) -> tuple[np.ndarray, tuple[int, int]]:
    """Like :func:`load_xray`, also returning the file's own (width, height): the frame its boxes are given in."""
    gray = read_xray(path)
    height, width = gray.shape
    return resize_u8(gray, size), (width, height)


def scale_box(box: Box, from_size: int | tuple[int, int], to_size: int) -> Box:
    """``box`` (x, y, w, h) in a ``from_size`` image (side, or (width, height)) in a ``to_size`` square image."""
    if isinstance(box, tuple | list):
        x, y, w, h = box
    else:
        x, y, w, h = box.x, box.y, box.w, box.h
    from_w, from_h = (from_size, from_size) if isinstance(from_size, int) else from_size
    sx, sy = to_size / from_w, to_size / from_h
    return (x * sx, y * sy, w * sx, h * sy)


def box_bounds(size: int, box_xywh: Box) -> tuple[int, int, int, int]:
    """Integer pixel bounds (x0, y0, x1, y1), end exclusive: floor(x), floor(y), ceil(x+w), ceil(y+h), clipped."""
    x, y, w, h = box_xywh
    x0 = min(max(math.floor(x), 0), size)
    y0 = min(max(math.floor(y), 0), size)
    x1 = min(max(math.ceil(x + w), 0), size)
    y1 = min(max(math.ceil(y + h), 0), size)
    return x0, y0, x1, y1


def box_mask(size: int, box_xywh: Box) -> np.ndarray:
    """float32 ``size`` x ``size`` mask, 1 inside the box's integer pixel bounds (see :func:`box_bounds`), else 0."""
    mask = np.zeros((size, size), dtype=np.float32)
    x0, y0, x1, y1 = box_bounds(size, box_xywh)
    mask[y0:y1, x0:x1] = 1.0
    return mask


def check_box_in_frame(box_xywh: Box, frame: tuple[int, int], where: str) -> None:
    """Raise :class:`DataError` naming ``where`` when the box leaves the image's own (width, height)."""
    x, y, w, h = box_xywh
    width, height = frame
    tolerance = 1e-6 * max(width, height)
    if x < -tolerance or y < -tolerance or x + w > width + tolerance or y + h > height + tolerance:
        raise DataError(f"{where}: box x={x} y={y} w={w} h={h} lies outside the {width}x{height} image")
