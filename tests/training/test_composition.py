import io

import numpy as np
import torch
from PIL import Image

from training.compose import compose, generator_input, masked_input, u8_to_unit
from training.data.images import box_mask
from training.inference import pix2pix_generate, pix2pix_generate_batch
from training.models.unet import UNetGenerator


def _png_round_trip(image: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())))


def _random_generator(size: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return UNetGenerator(in_channels=2, ngf=8, image_size=size).eval()


def test_input_is_the_box_and_black_outside():
    y = u8_to_unit(np.random.default_rng(0).integers(0, 256, (1, 1, 16, 16), dtype=np.uint8))
    m = torch.from_numpy(box_mask(16, (3, 4, 5, 6)))[None, None]
    x = masked_input(y, m)
    assert torch.equal(x[m > 0], y[m > 0])
    assert torch.all(x[m == 0] == -1.0)
    assert generator_input(x, m).shape == (1, 2, 16, 16)


def test_composition_keeps_the_box_and_takes_the_rest_from_the_generator():
    y, g = torch.rand(1, 1, 8, 8) * 2 - 1, torch.rand(1, 1, 8, 8) * 2 - 1
    m = torch.from_numpy(box_mask(8, (2, 2, 3, 3)))[None, None]
    out = compose(masked_input(y, m), g, m)
    assert torch.equal(out[m > 0], y[m > 0]) and torch.equal(out[m == 0], g[m == 0])


def test_box_pixels_identical_after_composition_and_png_encoding():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    box = (10.4, 20.7, 17.3, 13.9)
    result = _png_round_trip(pix2pix_generate(_random_generator(64), image, box))
    inside = box_mask(64, box) > 0
    assert result.dtype == np.uint8 and result.shape == (64, 64)
    assert np.array_equal(result[inside], image[inside])
    assert not np.array_equal(result[~inside], image[~inside])


def test_batch_generation_matches_single_and_keeps_every_box():
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (32, 32), dtype=np.uint8) for _ in range(3)]
    boxes = [(1.0, 2.0, 5.0, 6.0), (10.5, 10.5, 8.0, 8.0), (20.0, 3.0, 11.9, 20.0)]
    model = _random_generator(32)
    batch = pix2pix_generate_batch(model, images, boxes)
    for image, box, out in zip(images, boxes, batch, strict=True):
        inside = box_mask(32, box) > 0
        assert np.array_equal(out[inside], image[inside])
        assert np.array_equal(out, pix2pix_generate(model, image, box))
