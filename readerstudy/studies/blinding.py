"""Image bytes as readers receive them: re-encoded so that nothing but the pixels can tell one case from another.

The stored PNG is already normalised, but its compressed size still depends on its content, and generated images
compress differently from real ones. Re-encoding without compression gives every image of the same size and mode
the same byte length, and drops any metadata chunk a stored file might carry.

Re-encoding costs a decode and an encode (a few milliseconds) while the rest of an image request costs about as much,
so each process keeps the blinded bytes of recently served images in a bounded LRU cache. Stored files never change
under their name (every case image gets a fresh random name), so a cached entry cannot go stale.
"""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
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
            png = blinded_png(stored)
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
