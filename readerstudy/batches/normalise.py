"""Identical normalisation of every imported image, whatever produced it.

A pure function module (no Django): bytes in, normalised PNG bytes and their SHA-256 out, so it can be property-tested
and fuzzed on its own. Every image, real or generated, leaves here shaped the same way:

1. decoded with Pillow (PNG or JPEG only; the pixel count is checked before any pixel is decoded);
2. turned upright by its EXIF orientation (a camera's JPEG and a generator's PNG arrive the same way), then converted
   to 8-bit grayscale: 8-bit modes with Pillow's ITU-R 601-2 luma (alpha is dropped), 16-bit and 32-bit images,
   grey or colour, scaled linearly from their real minimum..maximum to 0..255 (not clipped);
3. if not already 224x224: the study's crop margin cut from each side, then resized to 224x224 with LANCZOS
   (the one fixed filter; a non-square image is stretched, not padded);
4. re-encoded as an uncompressed PNG (``compress_level=0``) from a fresh image that carries no metadata, so the file
   holds only IHDR, IDAT and IEND chunks and every normalised image is exactly as long as every other: compressed
   sizes differ between real and generated images (a classifier told them apart on size alone), and the stored file
   is served to readers as it is (``readerstudy.studies.blinding``). The output's chunks are checked before it is
   returned.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from batchformat.geometry import FINAL_SIZE as TARGET_SIZE
from batchformat.geometry import box_after_crop_and_resize as box_after_normalisation  # noqa: F401 (this module's API)
from batchformat.geometry import check_crop_margin, crop_and_resize
from batchformat.png import BARE_CHUNKS, PNG_SIGNATURE, png_chunk_types  # noqa: F401 (part of this module's API)

PNG_COMPRESS_LEVEL = 0  # see 4. in the module docstring
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG"})
ALLOWED_PNG_CHUNKS = frozenset(BARE_CHUNKS)
_HIGH_DEPTH_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})


class ImageRejected(ValueError):
    """The bytes are not an image this platform accepts; the message says why, for a person to read."""


@dataclass(frozen=True)
class NormalisedImage:
    png: bytes
    sha256: str
    original_width: int
    original_height: int


def open_checked(data: bytes, *, max_pixels: int) -> Image.Image:
    """Open and fully decode an image, refusing other formats, truncation and more pixels than ``max_pixels``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"the image is over the limit of {max_pixels} pixels per image") from None
    except UnidentifiedImageError:
        raise ImageRejected("not a PNG or JPEG image (cannot be decoded)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRejected(f"cannot be decoded as an image ({error})") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(f"{width}x{height} is over the limit of {max_pixels} pixels per image")
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageRejected(f"the image data is truncated or corrupt ({error})") from None
    return image


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header alone (nothing decoded), or None when the bytes are not an image."""
    try:
        with Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - the full decode reports what is wrong
        return None


def _range_scaled(pixels: np.ndarray) -> Image.Image:
    """``pixels`` (float32, modified in place: a hostile 16-bit image must not cost several float64 copies) mapped
    linearly from their own range onto 0-255."""
    low, high = float(pixels.min()), float(pixels.max())
    if high <= low:
        return Image.fromarray(np.zeros(pixels.shape, dtype=np.uint8))
    pixels -= low
    pixels *= 255.0 / (high - low)
    np.rint(pixels, out=pixels)
    return Image.fromarray(pixels.astype(np.uint8))


def _wide_colour_luma(data: bytes, image: Image.Image) -> np.ndarray | None:
    """The luma (float32) of the full 16-bit samples of a 16-bit RGB(A) PNG, which Pillow decodes to 8 bits by
    keeping each sample's high byte. Decoding the file a second time with the little-endian raw mode makes Pillow keep
    the *low* bytes instead (same filters, same bytes per pixel), and the two halves give the samples back. Built one
    channel at a time, so memory stays a few float32 planes whatever the image holds."""
    if image.format != "PNG" or data[24:26] not in (b"\x10\x02", b"\x10\x06"):
        return None
    with Image.open(io.BytesIO(data)) as low_bytes:
        low_bytes.tile = [tile._replace(args=tile.args.replace(";16B", ";16L")) for tile in low_bytes.tile]
        low_bytes.load()
        low = np.asarray(low_bytes)
    high = np.asarray(image)
    luma = np.zeros(high.shape[:2], dtype=np.float32)
    for channel, weight in enumerate((0.299, 0.587, 0.114)):  # the luma Pillow uses for 8 bits
        sample = high[..., channel].astype(np.float32)
        sample *= 256.0
        sample += low[..., channel]
        sample *= weight
        luma += sample
    return luma


def to_gray8(image: Image.Image, data: bytes = b"") -> Image.Image:
    """8-bit grayscale; high bit depths (grey or colour) are scaled by their real range so nothing is clipped."""
    if image.mode in _HIGH_DEPTH_MODES:
        return _range_scaled(np.array(image, dtype=np.float32))
    luma = _wide_colour_luma(data, image) if data else None
    if luma is not None:
        return _range_scaled(luma)
    if image.mode == "L":
        return image
    return image.convert("L")


# EXIF orientation -> the turn that makes the image upright (the mapping ImageOps.exif_transpose uses).
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def upright(gray: Image.Image, original: Image.Image) -> Image.Image:
    """``gray`` turned as the original's EXIF orientation says, or as it is."""
    turn = _UPRIGHT.get(original.getexif().get(0x0112))
    return gray.transpose(turn) if turn is not None else gray


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes from a fresh image built from the raw pixels only, so no metadata (ICC, text, EXIF, ...) follows."""
    bare = Image.frombytes("L", image.size, image.tobytes())
    buffer = io.BytesIO()
    bare.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    png = buffer.getvalue()
    stray = set(png_chunk_types(png)) - ALLOWED_PNG_CHUNKS
    if stray:  # a Pillow change must never let metadata through silently
        raise RuntimeError(f"normalised PNG holds unexpected chunks {sorted(stray)}")
    return png


def normalise_image(data: bytes, *, crop_margin: float, max_pixels: int,
                    min_size: int = TARGET_SIZE) -> NormalisedImage:
    """Decode ``data`` and return the normalised PNG, its SHA-256 and the original size (see the module docstring)."""
    check_crop_margin(crop_margin)
    image = open_checked(data, max_pixels=max_pixels)
    gray = upright(to_gray8(image, data), image)
    width, height = gray.size  # as displayed: a box is given on the upright image
    if width < min_size or height < min_size:
        raise ImageRejected(f"{width}x{height} is smaller than {min_size}x{min_size}")
    gray = crop_and_resize(gray, crop_margin)
    png = encode_png(gray)
    return NormalisedImage(png=png, sha256=hashlib.sha256(png).hexdigest(), original_width=width,
                           original_height=height)
