import hashlib
import time

import numpy as np
from PIL import Image

from training.data.nih import FINDINGS, NIHIndex, image_path
from training.data.phantom import BBOX_HEADER, make_phantom


def test_phantom_layout_is_nihs(phantom_dir):
    assert BBOX_HEADER == "Image Index,Finding Label,Bbox [x,y,w,h],,,"
    assert (phantom_dir / "BBox_List_2017.csv").read_text().splitlines()[0] == BBOX_HEADER
    entry_header = (phantom_dir / "Data_Entry_2017.csv").read_text().splitlines()[0].split(",")
    assert {"Image Index", "Finding Labels", "Patient ID", "View Position"} <= set(entry_header)
    names = sorted(p.name for p in (phantom_dir / "images").iterdir())
    assert len(names) == 28 and all(len(n) == len("00000001_000.png") for n in names)


def test_phantom_loads_through_the_real_index(phantom_dir):
    index = NIHIndex.load(phantom_dir)
    assert len(index.images()) == 18 and len(index.healthy_images()) == 10
    assert set(index.per_finding()) == set(FINDINGS) and all(index.per_finding().values())
    assert "Infiltrate" in (phantom_dir / "BBox_List_2017.csv").read_text()
    image = Image.open(image_path(phantom_dir, index.boxes[0].image))
    assert image.mode == "L" and image.size == (64, 64)


def test_opacities_lie_inside_their_boxes(tmp_path):
    make_phantom(tmp_path / "a", disease=6, healthy=0, size=256, seed=9)
    index = NIHIndex.load(tmp_path / "a")
    box = next(b for b in index.boxes if b.finding == "Pneumonia")
    # Same seed, same anatomy: drawing without the finding is not exposed, so compare with the box region's contrast.
    image = np.asarray(Image.open(image_path(tmp_path / "a", box.image)), dtype=np.float32)
    x0, y0 = int(box.x), int(box.y)
    centre = image[y0 + int(box.h) // 3: y0 + 2 * int(box.h) // 3, x0 + int(box.w) // 3: x0 + 2 * int(box.w) // 3]
    border = image[max(y0 - 4, 0):y0, x0:x0 + int(box.w)]
    assert centre.mean() > border.mean() + 20


def test_same_seed_same_bytes(tmp_path):
    def digest(folder):
        make_phantom(folder, disease=3, healthy=2, size=64, seed=5)
        return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())).hexdigest()

    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_a_hundred_images_at_256_take_seconds(tmp_path):
    started = time.perf_counter()
    make_phantom(tmp_path, disease=60, healthy=40, size=256, seed=0)
    assert time.perf_counter() - started < 20
