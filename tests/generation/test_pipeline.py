"""The final pipeline: one shape, one filter, one PNG layout for every source."""
import io

import numpy as np
import pytest
from PIL import Image

from generation import pipeline


def _gradient(size: int) -> np.ndarray:
    row = np.linspace(0, 255, size).astype(np.uint8)
    return np.tile(row, (size, 1))


@pytest.mark.parametrize("working_size", [64, 128, 256])
def test_every_working_size_ends_as_an_8_bit_gray_224_png(working_size):
    png = pipeline.final_png(_gradient(working_size), crop_margin=pipeline.DEFAULT_CROP_MARGIN)
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.mode, image.size) == ("PNG", "L", (224, 224))


def test_png_carries_only_the_critical_chunks():
    png = pipeline.final_png(_gradient(256), crop_margin=0.1)
    assert pipeline.png_chunk_types(png) == ["IHDR", "IDAT", "IEND"]


def test_default_margin_crops_exactly_to_224_without_resampling():
    image = np.random.default_rng(0).integers(0, 256, (256, 256), dtype=np.uint8)
    final = pipeline.finalise(image, pipeline.DEFAULT_CROP_MARGIN)
    assert np.array_equal(final, image[16:240, 16:240])


def test_crop_margin_outside_the_studys_range_is_refused():
    with pytest.raises(ValueError, match="crop margin"):
        pipeline.finalise(_gradient(256), crop_margin=0.3)


def test_box_maps_into_final_image_coordinates():
    # A box at (64, 64) size 32 in a 128 px working image is (128, 128, 64, 64) at 256; minus 16 px margin.
    assert pipeline.box_in_final_image((64, 64, 32, 32), from_size=128, crop_margin=16 / 256) == (112, 112, 64, 64)


def test_box_reaching_past_the_crop_is_clipped_to_the_final_image():
    x, y, w, h = pipeline.box_in_final_image((0, 0, 40, 300), from_size=256, crop_margin=16 / 256)
    assert (x, y) == (0, 0) and w == 24 and h == 224
