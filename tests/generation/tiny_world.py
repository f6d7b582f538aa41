"""A small phantom dataset in NIH's layout and tiny (untrained, seeded) generators saved as training checkpoints,
shared by the generation tests and the job tests."""
from __future__ import annotations

from pathlib import Path

import torch

TINY_SIZE = 256
KINDS = ("pix2pix", "pix2pix-n", "stargan")


def save_tiny_checkpoint(path: Path, kind: str, split: dict, image_size: int = TINY_SIZE, seed: int = 0) -> Path:
    from training.checkpoints import FORMAT_VERSION, save_checkpoint
    from training.models.factory import build_generator

    config = {"kind": kind, "image_size": image_size, "ngf": 4, "dropout": 0.5, "conv_dim": 4, "res_blocks": 1}
    torch.manual_seed(seed)
    model = build_generator(config)
    return save_checkpoint(path, {"kind": kind, "format_version": FORMAT_VERSION, "config": config, "step": 7,
                                  "seed": seed, "split": split, "model": model.state_dict()})


def make_phantom_data(out: Path) -> Path:
    """96 box-annotated, 24 healthy and 96 labelled (no box) 256 px phantom images: enough for 2 images per cell with
    the Real column drawn to the generators' view and label mix."""
    from training.data.phantom import make_phantom

    make_phantom(out, disease=96, healthy=24, size=256, seed=3, labelled=96)
    return out


def make_tiny_checkpoints(data_dir: Path, out: Path) -> dict[str, Path]:
    """One tiny generator of each kind, carrying the data's default split, saved under ``out/KIND/last.pt``."""
    from training.data.nih import NIHIndex

    torch.set_num_threads(1)
    split = NIHIndex.load(data_dir).split(seed=0).image_names()
    return {kind: save_tiny_checkpoint(out / kind / "last.pt", kind, split) for kind in KINDS}
