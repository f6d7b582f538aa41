"""What each pixel of a study image is: real, pasted back (the kept pathology box) or generated.

A study image is 224x224 (``IMAGE_SIZE``); a box is ``(x, y, w, h)`` in its pixels, x and y the top-left corner, as
the batch provenance stores it (``bbox_224``). A mark is a point ``(x, y)`` in the same frame (pixel centres at
``i + 0.5``); it falls on the region that holds the point.

* **Real** images are real everywhere.
* **Box kept** (Pix2Pix, Pix2Pix-N): the generator's output with the real pathology box pasted back, so the box is
  real pixels and the rest generated (the generation audit checks the box is identical in the final 224 px image).
* **All generated** (StarGAN): the whole image is the generator's; the box, when the provenance has one, marks where
  the pathology was in the origin image, not pixels that were kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

IMAGE_SIZE = 224

Box = tuple[float, float, float, float]


class PixelKind(StrEnum):
    REAL = "real"                  # every pixel real
    BOX_KEPT = "box_kept"          # the box real (pasted back), the rest generated
    ALL_GENERATED = "all_generated"  # every pixel generated


@dataclass(frozen=True)
class CaseTruth:
    """What one case's pixels are: its kind and, where it has one, its box in the 224 px frame."""

    kind: PixelKind
    box: Box | None = None

    def __post_init__(self) -> None:
        if self.kind == PixelKind.BOX_KEPT and not _has_area(self.box):
            raise ValueError("a box-kept image needs a box with an area")

    @property
    def is_fake(self) -> bool:
        return self.kind != PixelKind.REAL

    @property
    def kept_box(self) -> Box | None:
        """The box of real pixels inside a generated image (None unless the box was pasted back)."""
        return self.box if self.kind == PixelKind.BOX_KEPT else None

    @property
    def box_fraction(self) -> float:
        """The share of the image the kept box covers (0 where nothing was kept)."""
        box = self.kept_box
        if box is None:
            return 0.0
        x0, y0, x1, y1 = _clipped(box)
        return (x1 - x0) * (y1 - y0) / IMAGE_SIZE**2

    def generated_mask(self) -> np.ndarray:
        """(224, 224) bool: True where the pixel is generated."""
        if self.kind == PixelKind.REAL:
            return np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
        mask = np.ones((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
        if self.kept_box is not None:
            centres = np.arange(IMAGE_SIZE) + 0.5
            inside_x = _inside(centres, self.kept_box[0], self.kept_box[2])
            inside_y = _inside(centres, self.kept_box[1], self.kept_box[3])
            mask[np.ix_(inside_y, inside_x)] = False
        return mask


def case_truth(*, is_real: bool, box: Box | list | None, box_pasted_back: bool) -> CaseTruth:
    """The truth of a case from its provenance: real; or a fake whose box was pasted back (and has an area); or a
    fake generated everywhere (its box, if any, kept for drawing: where the origin's pathology was)."""
    box = tuple(float(value) for value in box) if box is not None else None
    if is_real:
        return CaseTruth(PixelKind.REAL, box)
    if box_pasted_back and _has_area(box):
        return CaseTruth(PixelKind.BOX_KEPT, box)
    return CaseTruth(PixelKind.ALL_GENERATED, box)


def in_box(x: np.ndarray, y: np.ndarray, box: Box | None) -> np.ndarray:
    """Whether each point lies in the box (left and top edges included, right and bottom excluded)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if box is None:
        return np.zeros(np.broadcast(x, y).shape, dtype=bool)
    return _inside(x, box[0], box[2]) & _inside(y, box[1], box[3])


def on_generated(x: np.ndarray, y: np.ndarray, truth: CaseTruth) -> np.ndarray:
    """Whether each point falls on generated pixels of the case (never on a real image; outside the kept box on a
    box-kept one; anywhere on an all-generated one)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    shape = np.broadcast(x, y).shape
    if truth.kind == PixelKind.REAL:
        return np.zeros(shape, dtype=bool)
    if truth.kind == PixelKind.ALL_GENERATED:
        return np.ones(shape, dtype=bool)
    return ~in_box(x, y, truth.kept_box)


def inside_image(x: float, y: float) -> bool:
    return 0 <= x < IMAGE_SIZE and 0 <= y < IMAGE_SIZE


def change_map(fake: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """How much each pixel of a generated image differs from its origin image (both 224x224, 8-bit gray): the
    absolute difference scaled to 0..1. Meaningful where the origin is the very image the generator translated
    (StarGAN: the real image it started from, when that image is in the study too)."""
    fake, origin = np.asarray(fake, dtype=float), np.asarray(origin, dtype=float)
    if fake.shape != origin.shape:
        raise ValueError(f"the images differ in shape: {fake.shape} and {origin.shape}")
    return np.abs(fake - origin) / 255.0


def _has_area(box) -> bool:
    return box is not None and len(box) == 4 and float(box[2]) > 0 and float(box[3]) > 0


def _inside(values: np.ndarray, start: float, length: float) -> np.ndarray:
    return (values >= start) & (values < start + length)


def _clipped(box: Box) -> tuple[float, float, float, float]:
    x, y, w, h = box
    return (max(0.0, x), max(0.0, y), min(float(IMAGE_SIZE), x + w), min(float(IMAGE_SIZE), y + h))


# Generators known to paste the real box back (the rule when a case's batch carries no audit record of its own).
BOX_PASTING_SOURCES = frozenset({"pix2pix", "pix2pix-n"})


def box_pasted_back(*, source_slug: str, audit_record: dict | None) -> bool:
    """Whether a fake's box holds the real pixels: the generation audit's own word for the image when the batch has
    one (``box_identical``, and ``box_identical_224`` where checked in the final image), else the generator's kind."""
    if audit_record and audit_record.get("box_identical") is not None:
        return bool(audit_record["box_identical"]) and audit_record.get("box_identical_224") is not False
    return source_slug in BOX_PASTING_SOURCES
