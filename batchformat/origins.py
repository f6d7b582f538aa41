"""The optional ``origins/`` folder of a batch: for a generated image, the very image the generator started from.

``origins/<filename>`` holds the origin of the manifest row named ``<filename>`` (the same path, under the folder),
brought to the study frame exactly as the generated image was (the same crop and resize), so the two can be compared
pixel by pixel (how much each pixel changed: ``analysis.marks.regions.change_map``). The rule:

* an 8-bit gray PNG (mode ``L``), exactly 224x224: already in the study frame, nothing left to resample;
* at most ``MAX_ORIGIN_BYTES`` bytes;
* at most one per case (the name is the case's own), and only for a row whose source is a generator: a real image is
  its own origin;
* every origin names a manifest row; a batch without the folder is as valid as ever.

The import keeps origins for the analysis only: a reader never receives one.
"""
from __future__ import annotations

from .geometry import FINAL_SIZE

ORIGINS_FOLDER = "origins"
ORIGIN_FORMAT = "PNG"
ORIGIN_MODE = "L"
# An uncompressed 224x224 gray PNG is about 50 KB; anything far beyond that is not an origin in the study frame.
MAX_ORIGIN_BYTES = 1024 * 1024


def origin_member(filename: str) -> str:
    """The zip member (relative to the manifest's folder) that holds the origin of the image ``filename``."""
    return f"{ORIGINS_FOLDER}/{filename}"


def origin_target(member: str) -> str | None:
    """The manifest file name an ``origins/...`` member belongs to, or None for any other member."""
    prefix = f"{ORIGINS_FOLDER}/"
    if not member.startswith(prefix) or len(member) == len(prefix):
        return None
    return member[len(prefix):]


def origin_size_problem(size: tuple[int, int]) -> str:
    """Why an origin of ``size`` (width, height) breaks the rule, or "": a reader may check it from the header alone,
    before decoding a pixel."""
    if tuple(size) != (FINAL_SIZE, FINAL_SIZE):
        return (f"an origin must be {FINAL_SIZE}x{FINAL_SIZE} (cropped and resized as its image was), "
                f"not {size[0]}x{size[1]}")
    return ""


def origin_image_problem(*, image_format: str | None, mode: str, size: tuple[int, int]) -> str:
    """Why a decoded origin breaks the rule (module docstring), or "" when it keeps it."""
    if image_format != ORIGIN_FORMAT:
        return f"an origin must be a PNG file, not {image_format or 'an unknown format'}"
    if mode != ORIGIN_MODE:
        return f"an origin must be 8-bit gray (PNG mode L), not mode {mode}"
    return origin_size_problem(size)
