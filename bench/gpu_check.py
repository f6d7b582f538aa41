"""The first real GPU run, in one short script: does the training and generation code work, and how fast, on this card?

    .venv/bin/python bench/gpu_check.py [--device cuda] [--workdir DIR]      # under 8 minutes on one GPU
    .venv/bin/python bench/gpu_check.py --device cpu --tiny                   # the same checks, tiny, as a smoke test

It runs, and prints as one table at the end:

1. Pix2Pix and StarGAN training steps at 256 px (paper widths, batch 8) in fp32 and in bf16: images/s and peak memory
   (CUDA: ``max_memory_allocated``; CPU: the process's peak RSS so far). bf16 where the device does not compute it
   natively is reported as refused, with the reason (``training.precision``).
2. A 200-step Pix2Pix run (``training.runner.train``, quick widths at 256 px, batch 4) on a phantom set: the L1 loss
   must fall (mean of the last 20 logged steps below 0.8 of the first 20).
3. ``torchrun --nproc_per_node=1 -m training pix2pix`` for 4 steps, then ``--resume`` to 8: both must exit 0 and the
   checkpoint must stand at step 8 (the process-group path, the device binding, the per-rank RNG state).
4. The 600-image verification set (25 per cell) generated from checkpoints trained on this device (the Pix2Pix of
   check 2, a short Pix2Pix-N and StarGAN): images/s of the whole build and its box audit.
5. A few Faster R-CNN steps (``training.localisation``, resnet50-FPN from random weights, 256 px, batch 2): s/step.

``--tiny`` shrinks every check (32-64 px, narrow networks, a few steps, 2 images per cell, mobilenet backbone) so the
whole script runs on a CPU in a couple of minutes; its figures say nothing about speed, only that every path works.
Exit status 0 only if every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from training.config import make_config  # noqa: E402
from training.data.phantom import make_phantom  # noqa: E402


@dataclass
class Row:
    check: str
    setting: str
    figures: str
    passed: bool
    seconds: float


@dataclass(frozen=True)
class Scale:
    """Sizes of the checks: the GPU run's, or the tiny CPU smoke run's."""

    step_size: int
    step_batch: int
    step_widths: dict
    step_iters: int
    run_size: int
    run_iters: int
    phantom: tuple[int, int, int]  # disease, healthy, size
    per_cell: int
    short_iters: int
    detector_backbone: str
    detector_steps: int


GPU_SCALE = Scale(256, 8, {"ngf": 64, "ndf": 64, "conv_dim": 64, "res_blocks": 6}, 10, 256, 200, (600, 400, 256), 25,
                  100, "resnet50_fpn", 10)
TINY_SCALE = Scale(32, 2, {"ngf": 8, "ndf": 8, "conv_dim": 8, "res_blocks": 1}, 2, 32, 40, (96, 24, 256), 2, 6,
                   "mobilenet_v3_large_fpn", 2)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB peak allocated"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB peak RSS (process)"


def check_steps(device: torch.device, scale: Scale) -> list[Row]:
    """Training steps on random tensors in fp32 and bf16 for both models."""
    from training.pix2pix_trainer import Pix2PixTrainer
    from training.precision import PrecisionError, resolve_precision
    from training.stargan_trainer import StarGANTrainer

    rows = []
    size, batch = scale.step_size, scale.step_batch
    for kind, trainer_class in (("pix2pix", Pix2PixTrainer), ("stargan", StarGANTrainer)):
        for name in ("fp32", "bf16"):
            started = time.perf_counter()
            setting = f"{kind} {size} px, batch {batch}, {name}"
            try:
                precision = resolve_precision(name, device)
            except PrecisionError as error:
                rows.append(Row("1 step speed", setting, f"refused: {error}", True, time.perf_counter() - started))
                continue
            config = make_config(kind, "unused", "unused", profile="paper", image_size=size, batch_size=batch,
                                 n_critic=1, precision=name, **scale.step_widths)
            torch.manual_seed(0)
            trainer = trainer_class(config, device, precision=precision)
            y = torch.rand(batch, 1, size, size, device=device) * 2 - 1
            m = torch.zeros(batch, 1, size, size, device=device)
            m[:, :, size // 4:size // 2, size // 4:size // 2] = 1
            domain = torch.randint(0, 7, (batch,), device=device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            trainer.step(y, m, domain, 0)  # warm-up (cuDNN's algorithm search, autocast caches)
            _sync(device)
            timed = time.perf_counter()
            for step in range(1, scale.step_iters + 1):
                losses = trainer.step(y, m, domain, step)
            _sync(device)
            rate = batch * scale.step_iters / (time.perf_counter() - timed)
            finite = all(torch.isfinite(v).item() for v in losses.values())
            rows.append(Row("1 step speed", setting, f"{rate:.1f} images/s, {_peak_memory(device)}", finite,
                            time.perf_counter() - started))
            del trainer
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return rows


def check_learning_run(device: torch.device, scale: Scale, data: Path, runs: Path) -> list[Row]:
    from training.runner import train

    started = time.perf_counter()
    config = make_config("pix2pix", str(data), str(runs / "pix2pix"), profile="quick", image_size=scale.run_size,
                         batch_size=4, iters=scale.run_iters, device=str(device), log_every=1,
                         sample_every=scale.run_iters, checkpoint_every=scale.run_iters)
    result = train(config, progress=False)
    l1 = [row["loss_l1"] for row in result.history]
    window = max(2, len(l1) // 10)
    first, last = sum(l1[:window]) / window, sum(l1[-window:]) / window
    rate = len(result.step_seconds) / sum(result.step_seconds)
    figures = f"L1 {first:.3f} -> {last:.3f} (mean of first/last {window}), {rate:.1f} it/s full loop"
    return [Row("2 learning run", f"pix2pix {scale.run_iters} steps, {scale.run_size} px, batch 4", figures,
                last < 0.8 * first, time.perf_counter() - started)]


def check_torchrun_resume(device: torch.device, scale: Scale, data: Path, runs: Path) -> list[Row]:
    started = time.perf_counter()
    out = runs / "torchrun"
    common = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1", "-m", "training",
              "pix2pix", "--data", str(data), "--out", str(out), "--profile", "quick", "--image-size",
              str(scale.run_size), "--batch-size", "2", "--device", "cuda" if device.type == "cuda" else "cpu",
              "--no-progress", "--checkpoint-every", "2", "--sample-every", "4"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.run([*common, "--iters", "4"], env=env, capture_output=True, text=True, cwd=REPO)
    second = subprocess.run([*common, "--iters", "8", "--resume"], env=env, capture_output=True, text=True, cwd=REPO)
    lines = [line for line in second.stdout.splitlines() if line.startswith("{")]
    step = json.loads(lines[-1])["step"] if lines else None
    passed = first.returncode == 0 and second.returncode == 0 and step == 8
    figures = f"exit {first.returncode} then {second.returncode}, resumed run ends at step {step}"
    if not passed:
        figures += f"; stderr: {(first.stderr + second.stderr)[-400:]!r}"
    return [Row("3 torchrun + resume", "nproc_per_node=1, 4 steps, resume to 8", figures, passed,
                time.perf_counter() - started)]


def check_verification_set(device: torch.device, scale: Scale, data: Path, runs: Path) -> list[Row]:
    from generation.verification import VerificationSetConfig, build_verification_set
    from training.runner import train

    started = time.perf_counter()
    checkpoints = {"pix2pix": runs / "pix2pix" / "checkpoints" / "last.pt"}
    for kind in ("pix2pix-n", "stargan"):
        config = make_config(kind, str(data), str(runs / kind), profile="quick", image_size=scale.run_size,
                             iters=scale.short_iters, device=str(device), healthy_pool=scale.phantom[1] // 2,
                             sample_every=scale.short_iters, checkpoint_every=scale.short_iters)
        checkpoints[kind] = train(config, progress=False).checkpoint
    trained = time.perf_counter()
    result = build_verification_set(VerificationSetConfig(
        data_dir=data, checkpoints=checkpoints, out=runs / "verification-set.zip", per_cell=scale.per_cell,
        device="cuda" if device.type == "cuda" else "cpu", force=True))
    built = time.perf_counter() - trained
    audit = result.provenance["audit"]
    figures = (f"{result.images} images in {built:.1f} s ({result.images / built:.1f} images/s); boxes identical "
               f"in {audit['box_identical']} of {audit['box_checked']}")
    passed = result.images == 24 * scale.per_cell and audit["box_identical"] == audit["box_checked"]
    return [Row("4 verification set", f"{scale.per_cell} per cell from checkpoints trained here", figures, passed,
                time.perf_counter() - started)]


def check_detector(device: torch.device, scale: Scale, data: Path) -> list[Row]:
    from training.data.nih import FINDINGS, NIHIndex
    from training.localisation.data import real_images
    from training.localisation.detector import build_detector
    from training.localisation.experiment import LocalisationConfig, make_optimizer, train_step

    started = time.perf_counter()
    split = NIHIndex.load(data).split(seed=0)
    images = real_images(data, split.train, 256, FINDINGS, progress=False, limit=2 * (scale.detector_steps + 1))
    config = LocalisationConfig(data=str(data), out="unused", backbone=scale.detector_backbone, batch_size=2)
    torch.manual_seed(0)
    model = build_detector(FINDINGS, scale.detector_backbone, 256).to(device).train()
    optimizer = make_optimizer(model, config)
    train_step(model, optimizer, images[:2], config, device)  # warm-up
    _sync(device)
    timed = time.perf_counter()
    losses = []
    for step in range(scale.detector_steps):
        batch = images[2 * step + 2:2 * step + 4] or images[:2]
        losses.append(float(train_step(model, optimizer, batch, config, device)))
    _sync(device)
    per_step = (time.perf_counter() - timed) / scale.detector_steps
    figures = f"{per_step:.3f} s/step, loss {losses[0]:.3f} -> {losses[-1]:.3f}"
    passed = all(loss == loss and abs(loss) != float("inf") for loss in losses)
    return [Row("5 Faster R-CNN", f"{scale.detector_backbone}, 256 px, batch 2, {scale.detector_steps} steps",
                figures, passed, time.perf_counter() - started)]


def _run(name: str, check: Callable[[], list[Row]]) -> list[Row]:
    started = time.perf_counter()
    try:
        return check()
    except Exception as error:  # noqa: BLE001 - a failed check is a row of the table, the others still run
        traceback.print_exc()
        return [Row(name, "failed", f"{type(error).__name__}: {error}"[:300], False, time.perf_counter() - started)]


def print_table(rows: list[Row], device: torch.device, total_s: float) -> None:
    if device.type == "cuda":
        where = f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}"
    else:
        where = f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads), torch {torch.__version__}"
    print(f"\ngpu_check on {where}: {sum(r.passed for r in rows)} of {len(rows)} passed in {total_s:.0f} s\n")
    print("| check | setting | result | figures | s |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row.check} | {row.setting} | {'ok' if row.passed else 'FAILED'} | {row.figures} | "
              f"{row.seconds:.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke run of every check on any device")
    parser.add_argument("--workdir", type=Path, help="keep data and runs here (default: a temporary folder)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but no CUDA device is visible; use --device cpu --tiny for a smoke run",
              file=sys.stderr)
        return 2
    if device.type == "cuda":
        torch.cuda.set_device(device)
    scale = TINY_SCALE if args.tiny else GPU_SCALE
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as scratch:
        work = args.workdir or Path(scratch)
        data, runs = work / "data", work / "runs"
        if not (data / "BBox_List_2017.csv").is_file():
            disease, healthy, size = scale.phantom
            make_phantom(data, disease=disease, healthy=healthy, size=size, seed=0)
        rows = _run("1 step speed", lambda: check_steps(device, scale))
        rows += _run("2 learning run", lambda: check_learning_run(device, scale, data, runs))
        rows += _run("3 torchrun + resume", lambda: check_torchrun_resume(device, scale, data, runs))
        rows += _run("4 verification set", lambda: check_verification_set(device, scale, data, runs))
        rows += _run("5 Faster R-CNN", lambda: check_detector(device, scale, data))
    print_table(rows, device, time.perf_counter() - began)
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
