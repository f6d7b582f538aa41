"""A small phantom dataset in NIH's layout and tiny (untrained, seeded) generators saved as training checkpoints."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

TINY_SIZE = 256


def save_tiny_checkpoint(path: Path, kind: str, split: dict, image_size: int = TINY_SIZE, seed: int = 0) -> Path:
    from training.checkpoints import FORMAT_VERSION, save_checkpoint
    from training.models.factory import build_generator

    config = {"kind": kind, "image_size": image_size, "ngf": 4, "dropout": 0.5, "conv_dim": 4, "res_blocks": 1}
    torch.manual_seed(seed)
    model = build_generator(config)
    return save_checkpoint(path, {"kind": kind, "format_version": FORMAT_VERSION, "config": config, "step": 7,
                                  "seed": seed, "split": split, "model": model.state_dict()})


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory) -> Path:
    from training.data.phantom import make_phantom

    out = tmp_path_factory.mktemp("phantom")
    make_phantom(out, disease=96, healthy=24, size=256, seed=3)
    return out


@pytest.fixture(scope="session")
def tiny_checkpoints(phantom_dir, tmp_path_factory) -> dict[str, Path]:
    from training.data.nih import NIHIndex

    torch.set_num_threads(1)
    index = NIHIndex.load(phantom_dir)
    split = index.split(seed=0).image_names()
    out = tmp_path_factory.mktemp("checkpoints")
    return {kind: save_tiny_checkpoint(out / f"{kind}.pt", kind, split)
            for kind in ("pix2pix", "pix2pix-n", "stargan")}
