"""The columns of a batch's ``manifest.csv``, in the order a writer puts them."""
from __future__ import annotations

from collections.abc import Iterable

MANIFEST_NAME = "manifest.csv"
REQUIRED_COLUMNS = ("filename", "finding", "source")
BOX_COLUMNS = ("bbox_x", "bbox_y", "bbox_w", "bbox_h")  # the box in the image file's own pixels, x and y its corner
OPTIONAL_COLUMNS = ("origin_image", *BOX_COLUMNS, "notes")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
KNOWN_COLUMNS = frozenset(COLUMNS)


def missing_columns(header: Iterable[str]) -> list[str]:
    """The required columns absent from ``header`` (names already stripped and lower-cased), in column order."""
    present = set(header)
    return [column for column in REQUIRED_COLUMNS if column not in present]
