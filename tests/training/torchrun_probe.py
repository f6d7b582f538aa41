"""Run under ``torchrun --nproc_per_node=2``: count the gradient all-reductions of a few Pix2Pix and StarGAN steps.

Pix2Pix: a DDP communication hook on each network counts the buckets it all-reduces (then all-reduces them as DDP
would). StarGAN: the trainer counts its own all-reduce calls. Writes ``$PROBE_DIR/rank-$RANK.json``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training.config import make_config  # noqa: E402
from training.distributed import cleanup, dist_info_from_env, init_process_group  # noqa: E402
from training.pix2pix_trainer import Pix2PixTrainer  # noqa: E402
from training.stargan_trainer import StarGANTrainer  # noqa: E402

STEPS = 3


def _batch(size: int = 32, batch: int = 2):
    generator = torch.Generator().manual_seed(int(os.environ["RANK"]))
    y = torch.rand(batch, 1, size, size, generator=generator) * 2 - 1
    m = torch.zeros(batch, 1, size, size)
    m[:, :, 8:20, 10:22] = 1
    return y, m, torch.tensor([1, 0])


def _counting_hook(counts: dict, name: str):
    def hook(state, bucket):
        counts[name] += 1
        return default_hooks.allreduce_hook(None, bucket)
    return hook


def main() -> None:
    info = dist_info_from_env()
    init_process_group(info, torch.device("cpu"))
    torch.manual_seed(0)
    pix = Pix2PixTrainer(make_config("pix2pix", "unused", "unused", profile="quick", image_size=32, ngf=8, ndf=8,
                                     batch_size=4), torch.device("cpu"), info)
    buckets = {"generator": 0, "discriminator": 0}
    pix.generator.register_comm_hook(None, _counting_hook(buckets, "generator"))
    pix.discriminator.register_comm_hook(None, _counting_hook(buckets, "discriminator"))
    for step in range(STEPS):
        pix.step(*_batch(), step)
    star = StarGANTrainer(make_config("stargan", "unused", "unused", profile="quick", image_size=32, conv_dim=8,
                                      res_blocks=1, n_critic=1, batch_size=4), torch.device("cpu"), info)
    for step in range(STEPS):
        star.step(*_batch(), step)
    tensors = {"stargan_generator": sum(1 for _ in star.generator.parameters()),
               "stargan_discriminator": sum(1 for _ in star.discriminator.parameters())}
    report = {"steps": STEPS, "pix2pix_buckets": buckets, "stargan_all_reduce_calls": star.all_reduce_calls,
              "stargan_parameter_tensors": tensors}
    (Path(os.environ["PROBE_DIR"]) / f"rank-{info.rank}.json").write_text(json.dumps(report))
    cleanup()


if __name__ == "__main__":
    main()
