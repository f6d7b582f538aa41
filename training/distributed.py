"""Multi-GPU runs under ``torchrun``: process group set-up from the environment and gradient averaging.

``torchrun --nproc_per_node=4 -m training pix2pix ...`` starts one process per GPU; each reads WORLD_SIZE, RANK and
LOCAL_RANK, takes its own slice of every global batch (see ``batch_indices``) and only rank 0 writes files.
Pix2Pix wraps both networks in DistributedDataParallel. StarGAN averages gradients itself (all-reduce after each
backward), because its gradient penalty differentiates the critic twice, which DDP's reducer does not support.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device_kind: str) -> DistInfo:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return info


def average_gradients(module: nn.Module, world: int) -> None:
    for parameter in module.parameters():
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
            parameter.grad /= world


def broadcast_parameters(module: nn.Module) -> None:
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for parameter in module.parameters():
        parameter.requires_grad_(flag)


def autocast(device: torch.device, enabled: bool):
    """bf16 mixed precision on CUDA (no loss scaling needed); a no-op elsewhere."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled and device.type == "cuda")
