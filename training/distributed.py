"""Multi-process runs under ``torchrun``: process group set-up from the environment, device binding, gradient averaging.

``torchrun --nproc_per_node=4 -m training pix2pix ...`` starts one process per GPU; each reads WORLD_SIZE, RANK and
LOCAL_RANK, binds itself to GPU ``LOCAL_RANK`` (before the process group exists, so NCCL and every implicit CUDA
operation use that card, not GPU 0), takes its own slice of every global batch (``--batch-size`` is the global batch;
see ``batch_indices``) and only rank 0 writes files. Pix2Pix wraps both networks in DistributedDataParallel. StarGAN
averages gradients itself, flattened into buckets (one all-reduce per bucket, not per tensor), because its gradient
penalty differentiates the critic twice, which DDP's reducer does not support.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

log = logging.getLogger(__name__)

BUCKET_BYTES = 25 * 2**20
"""Gradients are averaged in flat buckets of about this size (DDP's default bucket cap)."""


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


def dist_info_from_env() -> DistInfo:
    """This process's place in a ``torchrun`` job (rank 0 of 1 when not started by torchrun)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def wants_cuda(device_name: str) -> bool:
    """Whether ``--device`` asks for (or, as auto, will get) a GPU."""
    return device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())


BACKEND_ENV = "TRAINING_DIST_BACKEND"
"""``nccl`` (the default on CUDA) or ``gloo``: gloo also all-reduces CUDA tensors, and, unlike NCCL, lets two processes
share one GPU (``bench/gpu_check.py`` runs DDP with two processes on a one-GPU machine that way)."""
SHARE_GPU_ENV = "TRAINING_SHARE_GPU"
"""``1``: processes beyond the number of visible GPUs share them (LOCAL_RANK modulo the GPU count); a check, not a
way to train faster."""


def process_group_backend(device: torch.device) -> str:
    """NCCL on CUDA unless ``TRAINING_DIST_BACKEND`` says gloo; gloo on the CPU."""
    if device.type != "cuda":
        return "gloo"
    chosen = os.environ.get(BACKEND_ENV, "nccl")
    if chosen not in ("nccl", "gloo"):
        raise ValueError(f"{BACKEND_ENV}={chosen!r}: expected nccl or gloo")
    return chosen


def device_for(device_name: str, info: DistInfo, cuda_available: bool) -> torch.device:
    """The device this process trains on: under torchrun, GPU ``LOCAL_RANK`` (an explicit ``cuda:N`` is refused,
    each process needs its own card); alone, ``cuda`` is GPU 0 and ``cuda:N`` GPU N. ``auto`` without CUDA is the
    CPU, and says so (a run that silently trained on the CPU would look like a hang on a GPU machine)."""
    if device_name == "auto":
        if not cuda_available:
            log.warning("--device auto: no CUDA device is visible (torch.cuda.is_available() is False); "
                        "running on the CPU")
            return torch.device("cpu")
        device_name = "cuda"
    if not device_name.startswith("cuda"):
        return torch.device("cpu")
    if not cuda_available:
        raise ValueError(f"--device {device_name} asked for, but no CUDA device is available")
    index = torch.device(device_name).index
    if info.enabled:
        if index is not None:
            raise ValueError(f"--device {device_name}: under torchrun each process uses GPU LOCAL_RANK; "
                             "pass --device cuda and choose cards with CUDA_VISIBLE_DEVICES")
        count = torch.cuda.device_count()
        if count and info.local_rank >= count:
            if os.environ.get(SHARE_GPU_ENV) != "1":
                raise ValueError(f"process of LOCAL_RANK {info.local_rank} but only {count} GPU(s) visible: start at "
                                 f"most {count} processes per node (or set {SHARE_GPU_ENV}=1 to share, as a check)")
            return torch.device("cuda", info.local_rank % count)
        return torch.device("cuda", info.local_rank)
    return torch.device("cuda", index or 0)


def init_process_group(info: DistInfo, device: torch.device) -> None:
    """Bind this process to its GPU first (``set_device``), then join the group: NCCL on CUDA, gloo on the CPU."""
    if not info.enabled or dist.is_initialized():
        return
    backend = process_group_backend(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        if backend == "nccl":
            dist.init_process_group(backend="nccl", device_id=device)
        else:
            dist.init_process_group(backend="gloo")
    else:
        dist.init_process_group(backend="gloo")
    if info.is_main:
        log.info("process group: %s, %d processes, %s", backend, info.world, device)


def check_batch_divides(batch_size: int, info: DistInfo) -> int:
    """This process's share of the global batch; a global batch the processes cannot share evenly is refused."""
    if batch_size % info.world:
        raise ValueError(f"--batch-size {batch_size} is the global batch and must divide evenly among the "
                         f"{info.world} processes of this torchrun job; use a multiple of {info.world}")
    return batch_size // info.world


def average_gradients(module: nn.Module, world: int, bucket_bytes: int = BUCKET_BYTES) -> int:
    """Average every gradient of ``module`` over the processes: flattened into buckets of about ``bucket_bytes``,
    one all-reduce per bucket. Returns the number of all-reduce calls."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    calls = 0
    for bucket in _buckets(grads, bucket_bytes):
        flat = _flatten_dense_tensors(bucket)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= world
        for grad, averaged in zip(bucket, _unflatten_dense_tensors(flat, bucket), strict=True):
            grad.copy_(averaged)
        calls += 1
    return calls


def _buckets(tensors: Iterable[torch.Tensor], bucket_bytes: int) -> list[list[torch.Tensor]]:
    """Consecutive tensors grouped by dtype and device, each group at most ``bucket_bytes`` (or one larger tensor)."""
    buckets: list[list[torch.Tensor]] = []
    size = 0
    for tensor in tensors:
        nbytes = tensor.numel() * tensor.element_size()
        current = buckets[-1] if buckets else None
        if (current is None or size + nbytes > bucket_bytes or current[0].dtype != tensor.dtype
                or current[0].device != tensor.device):
            buckets.append([tensor])
            size = nbytes
        else:
            current.append(tensor)
            size += nbytes
    return buckets


def broadcast_parameters(module: nn.Module) -> None:
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)


def average_losses(losses: dict[str, torch.Tensor], info: DistInfo) -> dict[str, torch.Tensor]:
    """The losses averaged over the processes (one all-reduce), so the logged figures describe the global batch."""
    if not info.enabled or not losses:
        return losses
    names = sorted(losses)
    stacked = torch.stack([losses[name].float() for name in names])
    dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
    stacked /= info.world
    return dict(zip(names, stacked.unbind(), strict=True))


def gather_objects(value: object, info: DistInfo) -> list[object]:
    """Every process's ``value``, in rank order, on every process (just ``[value]`` when alone)."""
    if not info.enabled:
        return [value]
    gathered: list[object] = [None] * info.world
    dist.all_gather_object(gathered, value)
    return gathered


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for parameter in module.parameters():
        parameter.requires_grad_(flag)
