"""Image bytes as readers receive them: re-encoded so that nothing but the pixels can tell one case from another.

The stored PNG is already normalised, but its compressed size still depends on its content, and generated images
compress differently from real ones. Re-encoding without compression gives every image of the same size and mode
the same byte length, and drops any metadata chunk a stored file might carry.

Images are stored in this form at import (the batch normaliser writes uncompressed PNGs and ``case_create_from_png``
stores blinded bytes), so serving one is a file read and a check of its chunks and length; a file stored any other
way is re-encoded on the way out. Each process also keeps the bytes of recently served images in a bounded LRU
cache. Stored files never change under their name (every case image gets a fresh random name), so a cached entry
cannot go stale.
"""
from __future__ import annotations

import io
import struct
import threading
from collections import OrderedDict
from functools import lru_cache
from itertools import groupby
from typing import BinaryIO

from PIL import Image

from batchformat.png import BARE_CHUNKS, PNG_SIGNATURE, png_chunk_types

# Headers that could name a file or let a reader compare responses; the blinded image view never sends them.
LEAKY_HEADERS = ("Content-Disposition", "ETag", "Last-Modified", "Vary", "X-Sendfile", "X-Accel-Redirect")


_ZLIB_STORED_HEADER = b"\x78\x01"  # what zlib at level 0 writes first (and so Pillow's compress_level=0)
_MODES = {(8, 0): "L", (8, 2): "RGB"}  # (bit depth, PNG colour type) -> Pillow mode


def blinded_png(stored: BinaryIO) -> bytes:
    """The stored image's pixels as an uncompressed PNG with no ancillary chunks."""
    with Image.open(stored) as image:
        image.load()
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB" if image.mode in ("RGBA", "P", "CMYK", "YCbCr") else "L")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


@lru_cache(maxsize=64)
def _blinded_length(width: int, height: int, mode: str) -> int:
    """The byte length every blinded PNG of this size and mode has (uncompressed, so it does not depend on pixels)."""
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG", compress_level=0)
    return len(buffer.getvalue())


def is_blinded(data: bytes) -> bool:
    """Whether ``data`` is already in the blinded form: a PNG of IHDR, IDAT and IEND chunks only, 8-bit gray or RGB,
    not interlaced, stored without compression and so exactly as long as every blinded PNG of its size and mode.
    Such bytes say nothing about the image but its pixels, so they can be served as they are."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 43:
        return False
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    mode = _MODES.get((depth, colour_type))
    if mode is None or not 0 < width * height <= 4096 * 4096 or data[26:29] != b"\0\0\0":  # no interlacing
        return False
    if len(data) != _blinded_length(width, height, mode):
        return False
    chunks = tuple(kind for kind, _run in groupby(png_chunk_types(data)))  # IDAT may come in several chunks
    # Same zlib header as ours (no compression): incompressible pixels stored at another level would otherwise pass.
    return chunks == BARE_CHUNKS and data[41:43] == _ZLIB_STORED_HEADER


def blinded_bytes(data: bytes) -> bytes:
    """``data`` itself when it is already blinded (every image imported through a batch is), else re-encoded."""
    return data if is_blinded(data) else blinded_png(io.BytesIO(data))


class BlindedImageCache:
    """Blinded bytes by stored file, least recently used first out once ``max_bytes`` is reached (0 disables it).

    Thread-safe: gunicorn's threads share one instance per process. Two threads missing the same file at once both
    re-encode it (same bytes); the lock is never held while a file is read.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, storage, name: str) -> bytes:
        """The blinded bytes of the file ``name`` in ``storage``; FileNotFoundError when the file is gone."""
        key = (str(getattr(storage, "location", "")), name)
        with self._lock:
            png = self._entries.get(key)
            if png is not None:
                self._entries.move_to_end(key)
                return png
        with storage.open(name, "rb") as stored:
            png = blinded_bytes(stored.read())
        if len(png) <= self.max_bytes:
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = png
                    self._size += len(png)
                while self._size > self.max_bytes:
                    _, evicted = self._entries.popitem(last=False)
                    self._size -= len(evicted)
        return png

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    @property
    def size_bytes(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._entries)
