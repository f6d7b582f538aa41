"""Every checkpoint records its split (seed, test fraction, mode, a hash of its box list) so a run on another split
can be recognised and refused."""
from __future__ import annotations

import torch

from training.cli import main
from training.data.nih import NIHIndex, split_record
from training.data.phantom import make_phantom

TINY = ["--profile", "quick", "--iters", "2", "--batch-size", "2", "--image-size", "32", "--device", "cpu",
        "--sample-every", "2", "--checkpoint-every", "2", "--log-every", "1", "--no-progress"]


def test_the_hash_is_the_same_for_the_same_boxes_and_differs_for_another_split(tmp_path):
    make_phantom(tmp_path, disease=20, healthy=0, size=64, seed=1)
    index = NIHIndex.load(tmp_path)
    same = split_record(index.split(seed=0), 0, 0.3, "annotation")
    assert same == split_record(NIHIndex.load(tmp_path).split(seed=0), 0, 0.3, "annotation")
    other = split_record(index.split(seed=1), 1, 0.3, "annotation")
    assert other["boxes_sha256"] != same["boxes_sha256"] and len(same["boxes_sha256"]) == 64
    assert (same["train_boxes"] + same["test_boxes"], same["seed"], same["by"]) == (len(index.boxes), 0, "annotation")


def test_a_generator_checkpoint_carries_its_split_record(tmp_path):
    make_phantom(tmp_path / "nih", disease=12, healthy=0, size=64, seed=1)
    assert main(["pix2pix", "--data", str(tmp_path / "nih"), "--out", str(tmp_path / "run"), "--seed", "3",
                 *TINY]) == 0
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)["split_record"]
    expected = split_record(NIHIndex.load(tmp_path / "nih").split(seed=3), 3, 0.3, "annotation")
    assert saved == expected
