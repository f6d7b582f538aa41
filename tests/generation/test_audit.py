"""The pathology-preservation audit and the surroundings' quality figures."""
import numpy as np
import pytest

from generation.audit import check_box_identity, summarise_quality, surroundings_quality


def _images():
    rng = np.random.default_rng(1)
    original = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    mask = np.zeros((64, 64), dtype=np.float32)
    mask[10:30, 20:40] = 1
    return original, mask


def test_untouched_box_is_identical():
    original, mask = _images()
    generated = original.copy()
    generated[mask == 0] = 7
    assert check_box_identity(original, generated, mask).identical


def test_one_changed_box_pixel_is_caught_with_its_difference():
    original, mask = _images()
    generated = original.copy()
    generated[15, 25] = (int(original[15, 25]) + 3) % 256
    result = check_box_identity(original, generated, mask)
    assert not result.identical and result.max_abs_diff in (3, 253)


def test_identical_surroundings_score_perfectly():
    original, mask = _images()
    quality = surroundings_quality(original, original.copy(), 1 - mask)
    assert quality.ssim == pytest.approx(1.0) and quality.psnr == 99.0


def test_noisier_surroundings_score_lower():
    original, mask = _images()
    rng = np.random.default_rng(2)
    slight = np.clip(original + rng.normal(0, 2, original.shape), 0, 255).astype(np.uint8)
    heavy = np.clip(original + rng.normal(0, 30, original.shape), 0, 255).astype(np.uint8)
    slight_q = surroundings_quality(original, slight, 1 - mask)
    heavy_q = surroundings_quality(original, heavy, 1 - mask)
    assert slight_q.psnr > heavy_q.psnr and slight_q.ssim > heavy_q.ssim


def test_summary_groups_by_source_and_finding():
    records = [
        {"source": "Pix2Pix", "finding": "Effusion", "ssim": 0.5, "psnr": 20.0, "box_identical": True},
        {"source": "Pix2Pix", "finding": "Effusion", "ssim": 0.7, "psnr": 30.0, "box_identical": True},
        {"source": "Real", "finding": "Effusion", "ssim": None, "psnr": None, "box_identical": None},
    ]
    summary = summarise_quality(records)
    assert summary["Pix2Pix"]["Effusion"]["ssim"]["mean"] == pytest.approx(0.6)
    assert summary["Pix2Pix"]["Effusion"]["box_identical"] == 2
    assert summary["Real"]["Effusion"] == {"images": 1}
