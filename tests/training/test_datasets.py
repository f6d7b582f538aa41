import shutil

import numpy as np
import pytest

from training.data.datasets import batch_indices, load_samples
from training.data.nih import DataError, NIHIndex


def test_batch_order_is_a_function_of_seed_and_step_and_visits_every_sample():
    first_epoch = np.concatenate([batch_indices(10, 3, step, seed=7) for step in range(4)])[:10]
    assert sorted(first_epoch) == list(range(10))
    assert np.array_equal(batch_indices(10, 3, 5, seed=7), batch_indices(10, 3, 5, seed=7))
    assert not np.array_equal(batch_indices(10, 3, 5, seed=7), batch_indices(10, 3, 5, seed=8))


def test_ranks_take_disjoint_slices_of_the_global_batch():
    ranks = [batch_indices(8, 2, 0, seed=1, rank=r, world=4) for r in range(4)]
    assert sorted(np.concatenate(ranks)) == list(range(8))


def test_box_outside_its_png_names_the_box_list_and_image(phantom_dir, tmp_path):
    data = tmp_path / "nih"
    shutil.copytree(phantom_dir, data)
    lines = (data / "BBox_List_2017.csv").read_text().splitlines()
    name = lines[1].split(",")[0]
    cells = lines[1].split(",")
    cells[2] = "60"  # x = 60 with a width > 4 leaves the 64 px PNG (still inside NIH's 1024 frame)
    lines[1] = ",".join(cells)
    (data / "BBox_List_2017.csv").write_text("\n".join(lines) + "\n")
    index = NIHIndex.load(data)
    with pytest.raises(DataError, match=rf"BBox_List_2017.csv \({name}\): box x=60.0 .* outside the 64x64 image"):
        load_samples(data, index.boxes, 32)
    samples, skipped = load_samples(data, index.boxes, 32, skip_bad=True)
    assert skipped == {"boxes_outside_image": 1} and len(samples) == len(index.boxes) - 1


def test_samples_are_resized_with_boxes_scaled(phantom_dir):
    index = NIHIndex.load(phantom_dir)
    samples, skipped = load_samples(phantom_dir, index.boxes[:3], 32)
    assert samples.images.shape == (3, 32, 32) and samples.images.dtype == np.uint8 and not skipped
    assert np.allclose(samples.boxes[0], np.array(index.boxes[0].xywh) / 2)
