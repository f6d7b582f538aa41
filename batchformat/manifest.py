"""The columns of a batch's ``manifest.csv``, in the order a writer puts them."""
from __future__ import annotations

from collections.abc import Iterable

MANIFEST_NAME = "manifest.csv"
REQUIRED_COLUMNS = ("filename", "finding", "source")
BOX_COLUMNS = ("bbox_x", "bbox_y", "bbox_w", "bbox_h")  # the box in the image file's own pixels, x and y its corner
OPTIONAL_COLUMNS = ("origin_image", "origin_seen", *BOX_COLUMNS, "notes")
ORIGIN_SEEN_VALUES = {"seen": True, "unseen": False, "": None}
"""``origin_seen``: whether the generator that made the image trained on its origin image (``unseen`` for real
images, whose origin no generator trained on); empty where the writer did not record it."""
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
KNOWN_COLUMNS = frozenset(COLUMNS)


def origin_seen_cell(seen: bool | None) -> str:
    """The ``origin_seen`` cell for a flag (None: not recorded)."""
    return {value: cell for cell, value in ORIGIN_SEEN_VALUES.items()}[seen]


def missing_columns(header: Iterable[str]) -> list[str]:
    """The required columns absent from ``header`` (names already stripped and lower-cased), in column order."""
    present = set(header)
    return [column for column in REQUIRED_COLUMNS if column not in present]
