"""Training speed side by side with the paper's own Pix2Pix training script, in one run, on this machine.

    .venv/bin/python bench/bench_paper_code.py [--batches 1,8] [--images 40] [--rounds 1] [--paper-code DIR]

The paper's script (``/work/shared/paper-code``, the BSD fork of pytorch-CycleGAN-and-pix2pix the paper trained with;
run here, never copied from) trains one epoch over ``--images`` random 256x512 "AB" pairs (input left, target right;
its own 286 -> 256 jitter and flip, data read in the main process as its README runs it) and prints the epoch's
"Time Taken: N sec" (whole seconds; epochs here last a minute or more). This project's trainer runs the same number
of images at the same batch (``training.runner.train``, paper profile: 256 px, ngf = ndf = 64, batch norm, Adam) on a
phantom NIH set. Both run two epochs' worth and only the second is timed (the paper's second "Time Taken", this
loop's second half of steps): the first step of a process is cold (allocations, oneDNN's kernel choice), and the
``auto`` probe would otherwise have warmed this project's run and not the paper's. The probe's time and the first
epoch are reported beside (``outside_timed_s``). Modes, interleaved in each round so load swings hit all three:

* ``paper``: the paper's script, PyTorch's default threads;
* ``fp32``: ``--precision fp32`` (fp32, channels-last, fused Adam; PyTorch's default threads);
* ``auto``: ``--precision auto`` (a timed probe picks precision, layout and thread count on this machine:
  training.autotune; the thread governor may move the thread count as the load changes: its moves are printed).

Each figure is images/s; the ratios to the paper's figure of the same round are what counts (the machine may be
shared). ``uptime``'s load average is printed beside every figure. Target (issue 30): auto >= 2x paper at batch 1.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
PAPER_CODE = Path("/work/shared/paper-code")
MODES = ("paper", "fp32", "auto")


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def make_ab_pairs(folder: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    (folder / "train").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pixels = rng.integers(0, 256, (256, 512, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "train" / f"{i:04d}.png")


def run_paper(code: Path, data: Path, out: Path, batch: int, images: int) -> dict:
    command = [sys.executable, "train.py", "--dataroot", str(data), "--name", f"b{batch}", "--model", "pix2pix",
               "--direction", "AtoB", "--gpu_ids", "-1", "--niter", "2", "--niter_decay", "0", "--num_threads", "0",
               "--print_freq", "100000", "--batch_size", str(batch), "--checkpoints_dir", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=code, capture_output=True, text=True)
    wall = time.perf_counter() - started
    epochs = re.findall(r"Time Taken: (\d+) sec", done.stdout)
    if done.returncode or len(epochs) < 2:
        raise SystemExit(f"the paper's script failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    seconds = max(int(epochs[1]), 1)  # the second epoch: warm, like this project's steps after the first
    return {"images_s": images / seconds, "seconds": seconds, "process_wall_s": round(wall, 1)}


OURS = """
import json, sys, time
sys.path.insert(0, {repo!r})
from training.config import make_config
from training.runner import train
config = make_config("pix2pix", {data!r}, {out!r}, profile="paper", batch_size={batch}, iters=2 * {iters}, device="cpu",
                     precision={precision!r}, log_every={iters}, sample_every=10**9, checkpoint_every=10**9,
                     loader_workers=0)
started = time.perf_counter()
result = train(config, progress=False)
total = time.perf_counter() - started
resolved = json.load(open({out!r} + "/config.json"))["precision_resolved"]
print(json.dumps({{"loop_s": sum(result.step_seconds[{iters}:]), "total_s": total, "resolved": resolved,
                  "thread_moves": result.thread_moves}}))
"""


def run_ours(data: Path, out: Path, batch: int, images: int, precision: str) -> dict:
    iters = max(images // batch, 1)
    script = OURS.format(repo=str(REPO), data=str(data), out=str(out), batch=batch, iters=iters, precision=precision)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    if done.returncode:
        raise SystemExit(f"training ({precision}) failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    resolved = figures["resolved"]
    return {"images_s": iters * batch / figures["loop_s"], "seconds": round(figures["loop_s"], 1),
            "outside_timed_s": round(figures["total_s"] - figures["loop_s"], 1),
            "thread_moves": figures["thread_moves"],
            "path": f"{resolved['name']}, {'channels-last' if resolved['channels_last'] else 'contiguous'}, "
                    f"{resolved.get('threads') or 'default'} thread(s)"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--images", type=int, default=40,
                        help="images per measurement (per epoch of the paper's, whose time is whole seconds)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--paper-code", type=Path, default=PAPER_CODE)
    args = parser.parse_args(argv)
    if not (args.paper_code / "train.py").is_file():
        print(f"skipped: the paper's training script is not at {args.paper_code} (--paper-code DIR)")
        return 0
    sys.path.insert(0, str(REPO))
    from training.data.phantom import make_phantom

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-paper-") as scratch:
        work = Path(scratch)
        code = work / "paper-code"
        shutil.copytree(args.paper_code, code)  # it writes beside itself
        batches = [int(b) for b in args.batches.split(",")]
        make_ab_pairs(work / "ab", max(args.images, max(batches)))
        make_phantom(work / "phantom", disease=16, healthy=8, size=256, seed=0)
        for round_ in range(1, args.rounds + 1):
            for batch in batches:
                images = max(args.images, batch) // batch * batch
                figures = {}
                for mode in MODES:
                    before = load()
                    if mode == "paper":
                        figures[mode] = run_paper(code, work / "ab", work / f"paper-{round_}-{batch}", batch, images)
                    else:
                        figures[mode] = run_ours(work / "phantom", work / f"{mode}-{round_}-{batch}", batch, images,
                                                 mode)
                    figures[mode]["load"] = f"{before} -> {load()}"
                    print(f"round {round_} batch {batch} {mode}: {json.dumps(figures[mode])}", flush=True)
                paper = figures["paper"]["images_s"]
                rows.append({"round": round_, "batch": batch, "images": images, **{
                    f"{mode}_images_s": round(figures[mode]["images_s"], 4) for mode in MODES},
                    "fp32_over_paper": round(figures["fp32"]["images_s"] / paper, 2),
                    "auto_over_paper": round(figures["auto"]["images_s"] / paper, 2),
                    "auto_path": figures["auto"]["path"], "auto_outside_timed_s": figures["auto"]["outside_timed_s"],
                    "load": {mode: figures[mode]["load"] for mode in MODES}})
    print("\n| round | batch | images | paper images/s | fp32 images/s (x paper) | auto images/s (x paper) | auto path "
          "| load (1-min avg before -> after) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        loads = "; ".join(f"{m} {v}" for m, v in r["load"].items())
        print(f"| {r['round']} | {r['batch']} | {r['images']} | {r['paper_images_s']:.3f} | {r['fp32_images_s']:.3f} "
              f"(x{r['fp32_over_paper']}) | {r['auto_images_s']:.3f} (x{r['auto_over_paper']}) | {r['auto_path']} "
              f"| {loads} |")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
