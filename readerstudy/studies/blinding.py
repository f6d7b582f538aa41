"""Image bytes as readers receive them: re-encoded so that nothing but the pixels can tell one case from another.

The stored PNG is already normalised, but its compressed size still depends on its content, and generated images
compress differently from real ones. Re-encoding without compression gives every image of the same size and mode
the same byte length, and drops any metadata chunk a stored file might carry.
"""
from __future__ import annotations

import io
from typing import BinaryIO

from PIL import Image

# Headers that could name a file or let a reader compare responses; the blinded image view never sends them.
LEAKY_HEADERS = ("Content-Disposition", "ETag", "Last-Modified", "Vary", "X-Sendfile", "X-Accel-Redirect")


def blinded_png(stored: BinaryIO) -> bytes:
    """The stored image's pixels as an uncompressed PNG with no ancillary chunks."""
    with Image.open(stored) as image:
        image.load()
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB" if image.mode in ("RGBA", "P", "CMYK", "YCbCr") else "L")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()
