"""Training speed of Pix2Pix and StarGAN at 256x256, batch 1 and 8: the fp32 eager step against the fast path.

Two ways to run the same step (``training.precision``):

* ``fp32 eager``: fp32, contiguous tensors, PyTorch's default Adam: the code as it was before the fast path;
* ``fast``: what ``--precision auto`` picks on this device (bf16 autocast on a CPU with AMX/AVX-512-BF16 or a GPU
  with native bf16, fp16 + GradScaler on an older GPU, else fp32), channels-last, fused Adam, TF32 on CUDA.

For each (model, batch) the bare step (the trainer's step on random tensors: no data, no logging) runs in fresh
subprocesses, one per mode and round, the modes interleaved (fp32, fast, fp32, fast, ...) so a shared machine's load
swings hit both; each reports images/s over its timed steps (after one warm-up step) and its own peak memory (RSS on
the CPU, ``max_memory_allocated`` on CUDA). The full loop (``training.runner.train`` on a phantom NIH set: batch
assembly in the DataLoader's workers, joint augmentation, the step, loss logging every step) runs in the fast mode,
between two stretches of bare steps in the same process, and is reported as a fraction of that bare step.

Paper widths (ngf = ndf = 64; StarGAN conv_dim 64 with 6 residual blocks). A StarGAN "iteration" here is one critic
update plus one generator update (n_critic = 1), so both models' figures are one update of both networks.

Targets (issue 19): Pix2Pix images/s in the fastest mode >= 2x the fp32 eager batch-1 figure, >= 1.3x at batch 1;
full loop >= 0.9 of the bare step.

    .venv/bin/python bench/bench_training.py [--iters 2] [--rounds 2] [--models pix2pix,stargan] [--batches 1,8]
                                             [--device cpu|cuda] [--threads N] [--no-full-loop]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from training.config import make_config  # noqa: E402
from training.data.phantom import make_phantom  # noqa: E402
from training.pix2pix_trainer import Pix2PixTrainer  # noqa: E402
from training.precision import Precision, configure_math, eager_fp32, resolve_precision  # noqa: E402
from training.runner import train  # noqa: E402
from training.stargan_trainer import StarGANTrainer  # noqa: E402

SIZE = 256
MODES = ("fp32", "fast")


def _config(kind: str, data: str, out: str, batch: int, iters: int, device: str):
    return make_config(kind, data, out, profile="paper", iters=iters, batch_size=batch, image_size=SIZE,
                       device=device, n_critic=1, log_every=1, sample_every=10**9, checkpoint_every=10**9,
                       healthy_pool=8, precision="auto")


def _random_batch(batch: int, device: torch.device):
    generator = torch.Generator().manual_seed(batch)
    y = (torch.rand(batch, 1, SIZE, SIZE, generator=generator) * 2 - 1).to(device)
    m = torch.zeros(batch, 1, SIZE, SIZE, device=device)
    m[:, :, 80:160, 60:140] = 1
    return y, m, torch.randint(0, 7, (batch,), generator=generator).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _precision(mode: str, device: torch.device, kind: str, batch: int) -> Precision:
    return eager_fp32(device) if mode == "fp32" else resolve_precision("auto", device, kind=kind)


def _bare_images_per_second(trainer, batch: int, iters: int, device: torch.device, first_step: int) -> float:
    y, m, d = _random_batch(batch, device)
    _sync(device)
    started = time.perf_counter()
    for step in range(first_step, first_step + iters):
        trainer.step(y, m, d, step=step)
    _sync(device)
    return batch * iters / (time.perf_counter() - started)


def _peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_bare(kind: str, batch: int, iters: int, device_name: str, mode: str, data: str) -> dict:
    """One subprocess's bare-step figure: warm-up, then ``iters`` timed steps."""
    device = torch.device(device_name)
    if mode == "fast":
        configure_math(device)
    precision = _precision(mode, device, kind, batch)
    config = _config(kind, data, "unused", batch, iters, device_name)
    trainer = (StarGANTrainer if kind == "stargan" else Pix2PixTrainer)(config, device, precision=precision)
    trainer.train_mode(True)
    _bare_images_per_second(trainer, batch, 1, device, 0)  # warm-up: allocator, oneDNN/cuDNN kernel choice
    rate = _bare_images_per_second(trainer, batch, iters, device, 1)
    return {"model": kind, "batch": batch, "mode": mode, "precision": precision.name, "images_s": rate,
            "peak_mib": _peak_mib(device), "threads": torch.get_num_threads()}


def measure_full_loop(kind: str, batch: int, iters: int, device_name: str, data: str) -> dict:
    """The full loop's images/s against the bare step's, measured around it in the same process (fast mode)."""
    device = torch.device(device_name)
    configure_math(device)
    config = _config(kind, data, "unused", batch, iters, device_name)
    trainer = (StarGANTrainer if kind == "stargan" else Pix2PixTrainer)(config, device)
    trainer.train_mode(True)
    _bare_images_per_second(trainer, batch, 1, device, 0)
    before = _bare_images_per_second(trainer, batch, iters, device, 1)
    with tempfile.TemporaryDirectory() as out:
        result = train(_config(kind, data, out, batch, iters + 1, device_name), progress=False)
    full = batch * iters / sum(result.step_seconds[1:])  # the first iteration is the loop's warm-up
    after = _bare_images_per_second(trainer, batch, iters, device, 1 + iters)
    bare = (before + after) / 2
    return {"model": kind, "batch": batch, "bare_images_s": bare, "full_images_s": full, "full_over_bare": full / bare}


def _run(arguments: list[str]) -> dict:
    command = [sys.executable, __file__, *arguments]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    global SIZE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=2, help="timed steps per measurement (after 1 warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved fp32/fast subprocess pairs per row")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--models", default="pix2pix,stargan")
    parser.add_argument("--no-full-loop", action="store_true", help="bare steps only")
    parser.add_argument("--size", type=int, default=256, help="image size (256: the paper's; smaller for a smoke run)")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "BATCH", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    SIZE = args.size
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one:
        kind, batch, mode = args.one[0], int(args.one[1]), args.one[2]
        if mode == "loop":
            print(json.dumps(measure_full_loop(kind, batch, args.iters, args.device, args.data)))
        else:
            print(json.dumps(measure_bare(kind, batch, args.iters, args.device, mode, args.data)))
        return 0
    common = ["--iters", str(args.iters), "--device", args.device, "--threads", str(args.threads),
              "--size", str(args.size)]
    fast = resolve_precision("auto", torch.device(args.device))
    print(f"fast path here: {fast.describe()} (layout per model: training.precision.CPU_CONTIGUOUS_MODELS)",
          flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as data:
        make_phantom(Path(data), disease=16, healthy=8, size=SIZE, seed=0)
        for model in args.models.split(","):
            for batch in (int(b) for b in args.batches.split(",")):
                runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
                for _ in range(args.rounds):
                    for mode in MODES:
                        runs[mode].append(_run(["--one", model, str(batch), mode, "--data", data, *common]))
                        print(f"  {model} batch {batch} {mode}: {runs[mode][-1]['images_s']:.3f} images/s",
                              flush=True)
                loop = None if args.no_full_loop else _run(["--one", model, str(batch), "loop", "--data", data,
                                                            *common])
                rows.append(_row(model, batch, runs, loop, fast))
                print(_format(rows[-1]), flush=True)
    print(_table(rows))
    print(_verdict(rows))
    print(json.dumps(rows))
    return 0


def _row(model: str, batch: int, runs: dict[str, list[dict]], loop: dict | None, fast: Precision) -> dict:
    fp32 = statistics.median(r["images_s"] for r in runs["fp32"])
    quick = statistics.median(r["images_s"] for r in runs["fast"])
    return {"model": model, "batch": batch, "fast_precision": runs["fast"][0]["precision"],
            "threads": runs["fp32"][0]["threads"],
            "fp32_images_s": fp32, "fast_images_s": quick, "fast_over_fp32": quick / fp32,
            "fp32_all": [r["images_s"] for r in runs["fp32"]], "fast_all": [r["images_s"] for r in runs["fast"]],
            "fp32_peak_mib": max(r["peak_mib"] for r in runs["fp32"]),
            "fast_peak_mib": max(r["peak_mib"] for r in runs["fast"]),
            "full_over_bare": loop["full_over_bare"] if loop else None}


def _format(row: dict) -> str:
    loop = f", full loop {row['full_over_bare']:.2f} of bare" if row["full_over_bare"] is not None else ""
    return (f"{row['model']:<8} batch {row['batch']:>2}: fp32 {row['fp32_images_s']:.3f} images/s, "
            f"{row['fast_precision']} fast {row['fast_images_s']:.3f} images/s (x{row['fast_over_fp32']:.2f}), "
            f"peak {row['fp32_peak_mib']:.0f} / {row['fast_peak_mib']:.0f} MiB{loop}")


def _table(rows: list[dict]) -> str:
    baseline = {r["model"]: r["fp32_images_s"] for r in rows if r["batch"] == 1}
    lines = ["| model | batch | fp32 eager images/s | fast images/s | fast / fp32 | fast / fp32 batch 1 "
             "| peak fp32 / fast | full loop / bare |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        versus_one = f"{r['fast_images_s'] / baseline[r['model']]:.2f}" if r["model"] in baseline else "-"
        loop = f"{r['full_over_bare']:.2f}" if r["full_over_bare"] is not None else "-"
        lines.append(f"| {r['model']} | {r['batch']} | {r['fp32_images_s']:.3f} | {r['fast_images_s']:.3f} "
                     f"({r['fast_precision']}) | {r['fast_over_fp32']:.2f} | {versus_one} | "
                     f"{r['fp32_peak_mib'] / 1024:.1f} / {r['fast_peak_mib'] / 1024:.1f} GiB | {loop} |")
    return "\n".join(lines)


def _verdict(rows: list[dict]) -> str:
    pix = [r for r in rows if r["model"] == "pix2pix"]
    one = [r for r in pix if r["batch"] == 1]
    if not one:
        return "targets: need Pix2Pix at batch 1 to judge"
    best = max(r["fast_images_s"] for r in pix) / one[0]["fp32_images_s"]
    loops = [r["full_over_bare"] for r in pix if r["full_over_bare"] is not None]
    parts = [f"Pix2Pix fastest / fp32 batch 1 = {best:.2f} (target >= 2)",
             f"batch 1 fast / fp32 = {one[0]['fast_over_fp32']:.2f} (target >= 1.3)"]
    if loops:
        parts.append(f"full loop / bare = {min(loops):.2f} at worst (target >= 0.9)")
    return "targets: " + "; ".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
