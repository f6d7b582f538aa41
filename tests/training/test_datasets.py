import shutil

import numpy as np
import pytest

from training.data.datasets import load_samples
from training.data.nih import DataError, NIHIndex


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
