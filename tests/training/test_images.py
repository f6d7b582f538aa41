import numpy as np
import pytest
from PIL import Image

from training.data.images import box_mask, load_xray, scale_box
from training.data.nih import DataError


def test_rgba_png_becomes_gray_at_the_training_size(tmp_path):
    rgba = np.zeros((128, 128, 4), dtype=np.uint8)
    rgba[..., :3], rgba[..., 3] = 200, 255
    Image.fromarray(rgba).save(tmp_path / "a.png")
    image = load_xray(tmp_path / "a.png", size=32)
    assert image.dtype == np.uint8 and image.shape == (32, 32)
    assert int(image.mean()) == 200


def test_16_bit_png_is_scaled_to_8_bit(tmp_path):
    values = np.full((64, 64), 65535, dtype=np.uint16)
    values[:32] = 0
    Image.fromarray(values).save(tmp_path / "b.png")
    image = load_xray(tmp_path / "b.png", size=64)
    assert image[0, 0] == 0 and image[-1, -1] == 255


def test_resize_is_antialiased(tmp_path):
    stripes = np.zeros((256, 256), dtype=np.uint8)
    stripes[:, ::2] = 255
    Image.fromarray(stripes).save(tmp_path / "c.png")
    image = load_xray(tmp_path / "c.png", size=64)
    assert abs(float(image.mean()) - 127.5) < 3 and image.std() < 10


def test_corrupt_png_names_the_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match="bad.png: cannot decode image"):
        load_xray(tmp_path / "bad.png")


def test_missing_image_names_the_file(tmp_path):
    with pytest.raises(DataError, match="gone.png: image file not found"):
        load_xray(tmp_path / "gone.png")


def test_box_mask_uses_floor_and_ceil_bounds():
    mask = box_mask(16, (2.5, 3.2, 4.0, 2.1))
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (3, 5, 2, 6)
    assert mask.dtype == np.float32 and set(np.unique(mask)) == {0.0, 1.0}


def test_scale_box_follows_the_resize():
    assert scale_box((512.0, 256.0, 128.0, 64.0), 1024, 256) == (128.0, 64.0, 32.0, 16.0)
