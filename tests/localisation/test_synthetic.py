"""The synthetic training set made from a generator checkpoint: from training boxes only, boxes kept, loadable."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from training.checkpoints import save_checkpoint
from training.data.augment import augment_pair
from training.data.images import box_bounds, load_xray, load_xray_with_frame, scale_box
from training.data.nih import FINDINGS, NIHIndex, image_path, split_record
from training.data.phantom import make_phantom
from training.localisation.data import synthetic_images
from training.localisation.experiment import LocalisationConfig, load_run_data
from training.localisation.synthetic import make_synthetic_set
from training.models.factory import build_generator

from .helpers import write_batch


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("phantom")
    make_phantom(data, disease=10, healthy=0, size=512, seed=2)
    return data


def generator_checkpoint(path: Path, kind: str, data: Path, split_seed: int = 0) -> Path:
    """An untrained but real generator of ``kind``, trained (as recorded) on ``data``'s split of ``split_seed``."""
    config = {"kind": kind, "image_size": 256, "ngf": 8, "conv_dim": 8, "res_blocks": 1}
    model = build_generator(config)
    split = NIHIndex.load(data).split(seed=split_seed)
    save_checkpoint(path, {"kind": kind, "format_version": 1, "config": config, "step": 0, "seed": split_seed,
                           "split": split.image_names(), "split_record": split_record(split, split_seed, 0.3,
                                                                                     "annotation"),
                           "model": model.state_dict()})
    return path


@pytest.fixture(scope="module")
def synthetic_set(phantom, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic_set(phantom, generator_checkpoint(root / "p2p.pt", "pix2pix", phantom), root / "set", count=9,
                       progress=False)
    return root / "set"


def manifest(path: Path) -> list[dict]:
    with (path / "manifest.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_every_synthetic_image_stems_from_a_training_split_box(phantom, synthetic_set):
    split = NIHIndex.load(phantom).split(seed=0)
    train = {(b.image, b.finding) for b in split.train}
    rows = manifest(synthetic_set)
    assert len(rows) == 9 and {r["source"] for r in rows} == {"Pix2Pix"}
    assert {(r["origin_image"], r["finding"]) for r in rows} <= train
    provenance = json.loads((synthetic_set / "provenance.json").read_text())
    assert provenance["distinct_boxes"] == min(9, len(split.train))


def test_the_box_region_is_the_real_images_pixels(phantom, synthetic_set):
    train = NIHIndex.load(phantom).split(seed=0).train
    order = np.random.default_rng(0).permutation(len(train))  # the set's seeded order of the training boxes
    for row in manifest(synthetic_set):
        real, frame = load_xray_with_frame(image_path(phantom, row["origin_image"]), 256)
        number = int(row["filename"].rsplit("_", 1)[1].split(".")[0])
        if number >= len(train):  # a later pass: the same augmentation of the real image and its box
            box = scale_box(train[order[number % len(train)]].xywh, frame, 256)
            real, _ = augment_pair(real, box, np.random.default_rng([0, number]))
        synthetic = load_xray(synthetic_set / row["filename"], 256)
        x0, y0, x1, y1 = box_bounds(256, tuple(float(row[k]) for k in ("bbox_x", "bbox_y", "bbox_w", "bbox_h")))
        assert np.array_equal(real[y0:y1, x0:x1], synthetic[y0:y1, x0:x1])


def test_the_set_loads_as_the_experiments_synthetic_images(synthetic_set):
    images = synthetic_images(synthetic_set, "Pix2Pix", 9, 0, 256, FINDINGS, progress=False)
    assert len(images) == 9 and all(len(i.boxes) == 1 for i in images)


def test_no_two_synthetic_images_are_identical_when_boxes_are_used_twice(synthetic_set):
    provenance = json.loads((synthetic_set / "provenance.json").read_text())
    assert provenance["count"] == 9 > provenance["training_boxes"]  # a second pass over the boxes
    digests = {hashlib.sha256(load_xray(synthetic_set / row["filename"], 256).tobytes()).hexdigest()
               for row in manifest(synthetic_set)}
    assert len(digests) == 9 == provenance["distinct_images"]


def test_a_generator_trained_on_another_split_is_refused(phantom, tmp_path):
    foreign = generator_checkpoint(tmp_path / "p2p.pt", "pix2pix", phantom, split_seed=5)
    with pytest.raises(ValueError, match=r"was trained on another split \(seed 5.*than this localisation split "
                                         r"\(seed 0"):
        make_synthetic_set(phantom, foreign, tmp_path / "set", count=2, progress=False)
    assert not (tmp_path / "set").exists() and not (tmp_path / "set.tmp").exists()


def test_an_old_checkpoint_without_a_split_record_is_checked_by_its_training_images(phantom, tmp_path):
    config = {"kind": "pix2pix", "image_size": 256, "ngf": 8}
    save_checkpoint(tmp_path / "old.pt", {"kind": "pix2pix", "format_version": 1, "config": config, "step": 0,
                                          "seed": 0, "split": {"train": ["elsewhere.png"], "test": []},
                                          "model": build_generator(config).state_dict()})
    with pytest.raises(ValueError, match="was trained on other images"):
        make_synthetic_set(phantom, tmp_path / "old.pt", tmp_path / "set", count=2, progress=False)


def test_a_synthetic_set_made_for_another_split_is_refused_by_the_experiment(phantom, synthetic_set, tmp_path):
    config = LocalisationConfig(data=str(phantom), out=str(tmp_path / "run"), protocol="ori+pix2pix",
                                synthetic=str(synthetic_set), synthetic_count=2, split_seed=3, progress=False)
    with pytest.raises(ValueError, match=r"was made for another split \(seed 0.* than this run's \(seed 3"):
        load_run_data(config)


def test_a_generator_that_does_not_keep_the_box_is_refused(phantom, tmp_path):
    checkpoint = generator_checkpoint(tmp_path / "stargan.pt", "stargan", phantom)
    with pytest.raises(ValueError, match="is a stargan checkpoint; the localisation protocols need pix2pix"):
        make_synthetic_set(phantom, checkpoint, tmp_path / "set", count=2, progress=False)


def test_synthetic_images_from_test_split_images_are_refused(phantom, tmp_path):
    split = NIHIndex.load(phantom).split(seed=0)
    test_box = next(b for b in split.test if b.image not in {t.image for t in split.train})
    rows = [{"filename": "leak.png", "finding": test_box.finding, "source": "Pix2Pix", "origin_image": test_box.image,
             "bbox_x": 10, "bbox_y": 10, "bbox_w": 50, "bbox_h": 50}]
    batch = write_batch(tmp_path / "batch.zip", rows)
    config = LocalisationConfig(data=str(phantom), out=str(tmp_path / "run"), protocol="ori+pix2pix",
                                synthetic=str(batch), synthetic_count=1, progress=False)
    with pytest.raises(ValueError, match=f"stem from test-split images .*from {test_box.image}"):
        load_run_data(config)
