"""The PNG layout of a study image: the signature, and the chunks walked without decoding a pixel."""
from __future__ import annotations

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The only chunks a study image carries: an ancillary chunk (text, time, gamma, ...) could tell its origin.
BARE_CHUNKS = (b"IHDR", b"IDAT", b"IEND")


def png_chunk_types(data: bytes) -> list[bytes]:
    """The chunk types of a PNG file in order (e.g. [b"IHDR", b"IDAT", b"IEND"]); ValueError if it is not a PNG."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    types = []
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, chunk_type = struct.unpack(">I4s", data[offset:offset + 8])
        types.append(chunk_type)
        offset += 12 + length  # length, type, data, CRC
        if chunk_type == b"IEND":
            break
    return types
