import numpy as np

from training.data.augment import AugmentSettings, augment_pair
from training.data.images import box_mask


def _lesion_image(size: int, box: tuple[int, int, int, int]) -> np.ndarray:
    image = np.full((size, size), 40, dtype=np.uint8)
    x, y, w, h = box
    image[y:y + h, x:x + w] = 230
    return image


def test_joint_augmentation_keeps_the_box_on_the_lesion():
    box = (44, 6, 14, 18)  # near a corner, where crops and rotations bite
    image = _lesion_image(64, box)
    moved_boxes = set()
    for seed in range(40):
        out, moved = augment_pair(image, tuple(map(float, box)), np.random.default_rng(seed))
        lesion = out > 135
        inside = box_mask(64, moved) > 0
        assert lesion.sum() > 0.6 * 14 * 18
        assert (lesion & ~inside).sum() == 0, f"seed {seed}: lesion pixels outside the moved box"
        assert (lesion & inside).sum() >= 0.5 * inside.sum()
        moved_boxes.add(tuple(round(v) for v in moved))
    assert len(moved_boxes) > 10, "the augmentation should actually move the box"


def test_reflection_mirrors_image_and_box_together():
    image = _lesion_image(32, (2, 10, 6, 6))
    settings = AugmentSettings(max_rotation_deg=0.0, max_crop_zoom=1.0, flip=True)
    flipped = [augment_pair(image, (2.0, 10.0, 6.0, 6.0), np.random.default_rng(s), settings) for s in range(10)]
    mirrored = [(out, box) for out, box in flipped if box[0] > 16]
    assert mirrored, "some draws should reflect"
    out, box = mirrored[0]
    assert box == (24.0, 10.0, 6.0, 6.0)
    assert np.array_equal(out, image[:, ::-1])
