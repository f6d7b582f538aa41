"""Identical normalisation: every image leaves as an 8-bit gray 224x224 PNG with only IHDR, IDAT and IEND."""
from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from readerstudy.batches.normalise import (
    ImageRejected,
    box_after_normalisation,
    normalise_image,
    png_chunk_types,
)

LIMIT = 4096 * 4096


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def decode(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def noise(size=(256, 256), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=size[::-1], dtype=np.uint8)


def png_with_every_ancillary_chunk(pixels: np.ndarray) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "some generator v1")
    info.add_text("Comment", "compressed text", zip=True)  # zTXt
    info.add_itxt("Description", "international text")
    info.add(b"gAMA", struct.pack(">I", 45455))
    info.add(b"tIME", struct.pack(">HBBBBB", 2024, 1, 2, 3, 4, 5))
    exif = Image.Exif()
    exif[0x0131] = "generator-software"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(Image.fromarray(pixels), pnginfo=info, icc_profile=icc, exif=exif.tobytes(), dpi=(300, 300))


def test_the_chunk_lister_sees_ancillary_chunks_in_the_input():
    chunks = png_chunk_types(png_with_every_ancillary_chunk(noise()))
    assert {b"tEXt", b"zTXt", b"iTXt", b"gAMA", b"tIME", b"eXIf", b"iCCP", b"pHYs"} <= set(chunks)


def test_a_png_with_text_icc_and_exif_leaves_with_ihdr_idat_iend_only():
    result = normalise_image(png_with_every_ancillary_chunk(noise()), crop_margin=0.0, max_pixels=LIMIT)
    chunks = png_chunk_types(result.png)
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    assert set(chunks) == {b"IHDR", b"IDAT", b"IEND"}


@pytest.mark.parametrize("size", [(224, 224), (300, 260)])
def test_a_jpeg_with_exif_leaves_with_ihdr_idat_iend_only(size):
    exif = Image.Exif()
    exif[0x010F] = "camera maker"
    data = encode(Image.fromarray(noise(size)).convert("RGB"), "JPEG", exif=exif.tobytes(), quality=90)
    assert set(png_chunk_types(normalise_image(data, crop_margin=0.05, max_pixels=LIMIT).png)) == {
        b"IHDR", b"IDAT", b"IEND"}


def test_byte_different_files_with_identical_pixels_become_identical_bytes():
    pixels = noise()
    plain = encode(Image.fromarray(pixels), compress_level=1)
    decorated = png_with_every_ancillary_chunk(pixels)
    as_rgb = encode(Image.fromarray(pixels).convert("RGB"), compress_level=9)
    assert len({plain, decorated, as_rgb}) == 3
    outputs = {normalise_image(data, crop_margin=0.1, max_pixels=LIMIT).png for data in (plain, decorated, as_rgb)}
    assert len(outputs) == 1


def test_the_output_is_8_bit_gray_224_by_224():
    image = decode(normalise_image(encode(Image.fromarray(noise((640, 480))).convert("RGB")), crop_margin=0.05,
                                   max_pixels=LIMIT).png)
    assert (image.mode, image.size) == ("L", (224, 224))


def test_a_16_bit_image_is_scaled_by_its_real_range_not_clipped():
    ramp = np.linspace(1000, 3000, 224 * 224).reshape(224, 224).astype(np.uint16)
    result = normalise_image(encode(Image.fromarray(ramp)), crop_margin=0.0, max_pixels=LIMIT)
    out = np.asarray(decode(result.png))
    assert out.min() == 0 and out.max() == 255  # clipping to 8 bits would have made everything 255
    expected = np.rint((ramp.astype(np.float64) - 1000) * 255 / 2000).astype(np.uint8)
    assert np.array_equal(out, expected)


def png_16_bit_colour(samples: np.ndarray) -> bytes:
    """A 16-bit RGB PNG written by hand (Pillow cannot write one): filter 0 on every row."""
    import zlib

    height, width, _ = samples.shape
    raw = b"".join(b"\x00" + samples[row].astype(">u2").tobytes() for row in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_16_bit_colour_is_scaled_by_its_real_range_like_16_bit_grey():
    """12-bit data in a 16-bit RGB file: keeping only each sample's high byte (Pillow's 8-bit decode) would leave
    0-15 of 255, a black image; it arrives as the same data in 16-bit grey does (to one level: the luma's rounding)."""
    ramp = np.linspace(1000, 3000, 224 * 224).reshape(224, 224).astype(np.uint16)
    colour = normalise_image(png_16_bit_colour(np.stack([ramp] * 3, axis=-1)), crop_margin=0.0, max_pixels=LIMIT)
    grey = normalise_image(encode(Image.fromarray(ramp)), crop_margin=0.0, max_pixels=LIMIT)
    difference = np.asarray(decode(colour.png)).astype(int) - np.asarray(decode(grey.png)).astype(int)
    assert np.abs(difference).max() <= 1 and np.asarray(decode(colour.png)).max() == 255


@pytest.mark.parametrize(("orientation", "turn"), [(3, Image.Transpose.ROTATE_180), (6, Image.Transpose.ROTATE_270),
                                                   (8, Image.Transpose.ROTATE_90)])
def test_exif_orientation_is_applied_so_a_camera_jpeg_arrives_upright(orientation, turn):
    pixels = noise((300, 240))
    exif = Image.Exif()
    exif[0x0112] = orientation
    tagged = normalise_image(encode(Image.fromarray(pixels), exif=exif.tobytes()), crop_margin=0.0, max_pixels=LIMIT)
    upright = normalise_image(encode(Image.fromarray(pixels).transpose(turn)), crop_margin=0.0, max_pixels=LIMIT)
    assert tagged.sha256 == upright.sha256
    assert (tagged.original_width, tagged.original_height) == Image.fromarray(pixels).transpose(turn).size


def test_rgba_converts_to_the_luma_of_its_colour_ignoring_alpha():
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, size=(224, 224, 4), dtype=np.uint8)
    rgba[..., 3] = rng.integers(0, 256, size=(224, 224), dtype=np.uint8)
    result = normalise_image(encode(Image.fromarray(rgba)), crop_margin=0.0, max_pixels=LIMIT)
    expected = np.asarray(Image.fromarray(np.ascontiguousarray(rgba[..., :3])).convert("L"))
    assert np.array_equal(np.asarray(decode(result.png)), expected)


def test_a_224_image_keeps_its_pixels_and_ignores_the_crop_margin():
    pixels = noise((224, 224))
    result = normalise_image(encode(Image.fromarray(pixels)), crop_margin=0.2, max_pixels=LIMIT)
    assert np.array_equal(np.asarray(decode(result.png)), pixels)


def test_the_crop_margin_is_cut_from_each_side_before_resizing():
    pixels = np.zeros((400, 400), dtype=np.uint8)
    pixels[:40, :] = pixels[-40:, :] = pixels[:, :40] = pixels[:, -40:] = 255  # a white 10% frame
    cropped = np.asarray(decode(normalise_image(encode(Image.fromarray(pixels)), crop_margin=0.1,
                                                max_pixels=LIMIT).png))
    uncropped = np.asarray(decode(normalise_image(encode(Image.fromarray(pixels)), crop_margin=0.0,
                                                  max_pixels=LIMIT).png))
    assert cropped.max() == 0 and uncropped.max() == 255


def test_normalisation_is_deterministic_and_hashes_its_output():
    import hashlib

    data = encode(Image.fromarray(noise((500, 500))))
    first, second = (normalise_image(data, crop_margin=0.05, max_pixels=LIMIT) for _ in range(2))
    assert first.png == second.png
    assert first.sha256 == hashlib.sha256(first.png).hexdigest()
    assert (first.original_width, first.original_height) == (500, 500)


@pytest.mark.parametrize(("data", "message"), [
    (b"this is not an image", "not a PNG or JPEG"),
    (encode(Image.fromarray(noise((100, 300)))), "smaller than 224x224"),
    (encode(Image.fromarray(noise((256, 256))))[:3000], "truncated or corrupt"),
    (encode(Image.fromarray(noise((256, 256))), "GIF"), "not a PNG or JPEG"),
])
def test_bad_images_are_rejected_with_a_reason(data, message):
    with pytest.raises(ImageRejected, match=message):
        normalise_image(data, crop_margin=0.0, max_pixels=LIMIT)


def test_an_image_over_the_pixel_limit_is_rejected_before_decoding():
    data = encode(Image.new("L", (2000, 2000)))
    with pytest.raises(ImageRejected, match="over the limit of 1000000 pixels"):
        normalise_image(data, crop_margin=0.0, max_pixels=1_000_000)


def test_a_box_maps_into_the_normalised_image():
    assert box_after_normalisation((100, 100, 200, 200), width=1000, height=1000, crop_margin=0.0) == (
        22.4, 22.4, 44.8, 44.8)
    assert box_after_normalisation((10, 20, 30, 40), width=224, height=224, crop_margin=0.1) == (10, 20, 30, 40)
    x, y, w, h = box_after_normalisation((0, 0, 100, 100), width=1000, height=1000, crop_margin=0.05)
    assert (x, y) == (0, 0) and w == pytest.approx(224 * 50 / 900, abs=0.01)
