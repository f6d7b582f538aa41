"""Training speed of Pix2Pix and StarGAN at 256x256, batch 1 and 8, on the CPU (or --device cuda).

For each (model, batch) it runs, in a fresh subprocess so peak memory is its own:

* the bare step: the trainer's step on random tensors, no data, no logging;
* the full loop: ``training.runner.train`` on a phantom NIH set (in-memory images, joint augmentation, batch assembly,
  the step, loss logging every step), timed per iteration (the one-off data preparation and final checkpoint are
  outside the timed iterations);

and prints iterations/s of both, their ratio (target >= 0.8), peak RSS, FLOPs per step (FlopCounterMode, counted at
batch 1 and scaled linearly: every layer is a convolution over the batch) and the achieved GFLOP/s. Paper widths
(ngf = ndf = 64; StarGAN conv_dim 64 with 6 residual blocks). A StarGAN "iteration" here is one critic update plus one
generator update (n_critic = 1), so both models' figures are one full update of both networks.

    .venv/bin/python bench/bench_training.py [--iters 2] [--device cpu] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode, flop_registry  # noqa: E402

from training.config import make_config  # noqa: E402
from training.data.phantom import make_phantom  # noqa: E402
from training.pix2pix_trainer import Pix2PixTrainer  # noqa: E402
from training.runner import train  # noqa: E402
from training.stargan_trainer import StarGANTrainer  # noqa: E402

SIZE = 256


def _config(kind: str, data: str, out: str, batch: int, iters: int, device: str):
    return make_config(kind, data, out, profile="paper", iters=iters, batch_size=batch, image_size=SIZE,
                       device=device, n_critic=1, log_every=1, sample_every=10**9, checkpoint_every=10**9,
                       healthy_pool=8)


def _random_batch(batch: int, device: torch.device):
    y = torch.rand(batch, 1, SIZE, SIZE, device=device) * 2 - 1
    m = torch.zeros(batch, 1, SIZE, SIZE, device=device)
    m[:, :, 80:160, 60:140] = 1
    return y, m, torch.randint(0, 7, (batch,), device=device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class RegistryFlopCounter(TorchDispatchMode):
    """FlopCounterMode's per-op formulas without its module tracker, whose backward hooks break autograd.grad
    (StarGAN's gradient penalty) in this torch version."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func._overloadpacket in flop_registry:
            self.total += flop_registry[func._overloadpacket](*args, **kwargs, out_val=out)
        return out


def count_step_flops(trainer, device: torch.device) -> int:
    """FLOPs of one step at batch 1 (forward and backward passes of both networks)."""
    try:
        with FlopCounterMode(display=False) as counter:
            trainer.step(*_random_batch(1, device), step=0)
        return counter.get_total_flops()
    except RuntimeError:
        with RegistryFlopCounter() as counter:
            trainer.step(*_random_batch(1, device), step=0)
        return counter.total


def measure(kind: str, batch: int, iters: int, device_name: str, data: str) -> dict:
    device = torch.device(device_name)
    config = _config(kind, data, "unused", batch, iters, device_name)
    trainer = (StarGANTrainer if kind == "stargan" else Pix2PixTrainer)(config, device)
    trainer.train_mode(True)
    flops_per_step = count_step_flops(trainer, device) * batch
    y, m, d = _random_batch(batch, device)
    trainer.step(y, m, d, step=0)  # warm-up
    _sync(device)
    started = time.perf_counter()
    for step in range(iters):
        trainer.step(y, m, d, step=step + 1)
    _sync(device)
    bare_rate = iters / (time.perf_counter() - started)
    del trainer

    with tempfile.TemporaryDirectory() as out:
        result = train(_config(kind, data, out, batch, iters + 1, device_name), progress=False)
    _sync(device)
    full_rate = iters / sum(result.step_seconds[1:])  # first iteration is the warm-up
    peak = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"model": kind, "batch": batch, "device": device_name, "threads": torch.get_num_threads(),
            "bare_it_s": bare_rate, "full_it_s": full_rate, "ratio": full_rate / bare_rate,
            "gflop_per_step": flops_per_step / 1e9, "bare_gflop_s": flops_per_step * bare_rate / 1e9,
            "full_gflop_s": flops_per_step * full_rate / 1e9, "peak_mib": peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=2, help="timed iterations per measurement (after 1 warm-up)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--models", default="pix2pix,stargan")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "BATCH"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.iters, args.device, args.data)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as data:
        make_phantom(Path(data), disease=16, healthy=8, size=SIZE, seed=0)
        for model in args.models.split(","):
            for batch in (int(b) for b in args.batches.split(",")):
                command = [sys.executable, __file__, "--one", model, str(batch), "--iters", str(args.iters),
                           "--device", args.device, "--threads", str(args.threads), "--data", data]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(_format(rows[-1]), flush=True)
    print(json.dumps(rows))
    return 0


def _format(row: dict) -> str:
    return (f"{row['model']:<8} batch {row['batch']:>2} {row['device']} ({row['threads']} threads): "
            f"bare {row['bare_it_s']:.3f} it/s, full loop {row['full_it_s']:.3f} it/s "
            f"(ratio {row['ratio']:.2f}), {row['gflop_per_step']:.1f} GFLOP/step, "
            f"{row['bare_gflop_s']:.1f} GFLOP/s bare / {row['full_gflop_s']:.1f} full, peak {row['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    raise SystemExit(main())
