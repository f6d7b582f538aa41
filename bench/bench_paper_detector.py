"""The paper's detector learns: ResNet-50 FPN Faster R-CNN from scratch, SGD 3e-4, batch 2, on phantom findings.

The run is the localisation experiment itself (``run_experiment``, protocol ``ori``) in the paper's configuration
(``weights=None``, momentum SGD 0.9 at lr 3e-4 with clipping at 10, batch 2, 256 px); only the data are phantoms
(findings drawn inside their boxes), so a detector that learns must localise them far better than random boxes of
the same count and sizes (:mod:`training.localisation.baseline`). It reports CL@0.1 (IoU > 0.1) with a 95% Wilson
interval over the test boxes beside the random-box baseline, the wall time and the seconds per training step.

On a CPU the full configuration is too slow to reach that point (see ``docs/localisation.md`` for measured step
times), so the script is meant for the GPU check (``--device cuda``); ``--image-size 128 --steps N`` is the largest
CPU-feasible version. ``--time-steps K`` only measures K training steps (no evaluation) and prints the projected wall
time of ``--steps``.

    .venv/bin/python bench/bench_paper_detector.py --device cuda --steps 3000 --eval-every 500
    .venv/bin/python bench/bench_paper_detector.py --device cpu --image-size 128 --steps 400 --eval-every 200
    .venv/bin/python bench/bench_paper_detector.py --device cpu --time-steps 5
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.data.phantom import make_phantom  # noqa: E402
from training.localisation.experiment import LocalisationConfig, read_learning, run_experiment  # noqa: E402
from training.localisation.metric import TOTAL  # noqa: E402

PAPER = dict(backbone="resnet50_fpn", optimizer="sgd", lr=3e-4, batch_size=2)


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion (the CL over the test boxes)."""
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    return float(low), float(high)


def time_steps(config: LocalisationConfig, steps: int) -> dict:
    """Seconds per training step of ``config`` (the first, warm-up step excluded), without evaluation."""
    from training.localisation.detector import build_detector
    from training.localisation.experiment import load_run_data, make_optimizer, train_step

    device = config.resolved_device()
    data = load_run_data(config)
    model = build_detector(config.findings, config.backbone, config.image_size).to(device)
    model.train()
    optimizer = make_optimizer(model, config)
    times = []
    for step in range(steps + 1):
        batch = [data.train[(step * config.batch_size + k) % len(data.train)] for k in range(config.batch_size)]
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        train_step(model, optimizer, batch, config, device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    per_step = sorted(times[1:])[len(times[1:]) // 2]
    return {"timed_steps": steps, "median_step_s": round(per_step, 3), "warmup_step_s": round(times[0], 3)}


def final_total(metrics_csv: Path) -> tuple[int, int, int]:
    """(step, localised, total) of the Total row at the last evaluation."""
    with open(metrics_csv, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["finding"] == TOTAL]
    last = rows[-1]
    return int(last["step"]), int(last["localised"]), int(last["total"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--image-size", type=int, default=256, help="the paper's 256 (128: the CPU version)")
    parser.add_argument("--disease", type=int, default=300, help="phantom images with boxes (30%% become test)")
    parser.add_argument("--eval-images", type=int, default=None, help="score the first N test images only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-steps", type=int, default=0, help="only time this many steps and project --steps")
    parser.add_argument("--out", default="var/bench/paper-detector", help="where learning.csv and the curve go")
    parser.add_argument("--progress", action="store_true", help="progress bars on stderr even when not a terminal")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="paper-detector-") as scratch:
        data, run = Path(scratch) / "phantom", Path(scratch) / "run"
        make_phantom(data, disease=args.disease, healthy=2, size=args.image_size, seed=args.seed)
        config = LocalisationConfig(
            data=str(data), out=str(run), image_size=args.image_size, steps=args.steps, eval_every=args.eval_every,
            report_steps=(args.steps - args.eval_every,), window_half_width=args.eval_every, seed=args.seed,
            device=args.device, eval_images=args.eval_images, progress=args.progress or sys.stderr.isatty(), **PAPER)
        if args.time_steps:
            timing = time_steps(config, args.time_steps)
            projected = timing["median_step_s"] * args.steps
            print(json.dumps({**PAPER, "image_size": args.image_size, "device": args.device, "threads": args.threads,
                              **timing, "projected_steps": args.steps, "projected_train_s": round(projected)},
                             indent=1))
            return 0
        started = time.perf_counter()
        run_experiment(config)
        wall = time.perf_counter() - started
        rows = read_learning(run / "learning.csv")
        step, localised, total = final_total(run / "metrics.csv")
        for name in ("learning.csv", "learning_curve.png", "metrics.csv"):
            (out / name).write_bytes((run / name).read_bytes())
    print(f"{'step':>6} {'loss':>8} {'CL@0.1':>7} {'random':>7} {'FP/img':>7}")
    for row in rows:
        print(f"{int(row['step']):>6} {row['loss']:>8.3f} {row['cl'] or 0:>7.3f} {row['baseline_cl'] or 0:>7.3f} "
              f"{row['fp_per_image']:>7.2f}")
    final = rows[-1]
    low, high = wilson(localised, total)
    summary = {**PAPER, "image_size": args.image_size, "device": args.device, "threads": args.threads,
               "steps": args.steps, "wall_s": round(wall, 1), "s_per_step_incl_eval": round(wall / args.steps, 3),
               "final_step": step, "final_cl": round(localised / total, 4), "final_cl_95ci": [round(low, 4),
                                                                                               round(high, 4)],
               "test_boxes": total, "final_random_box_cl": final["baseline_cl"],
               "final_fp_per_image": final["fp_per_image"], "first_loss": rows[0]["loss"],
               "final_loss": final["loss"], "learning_curve": str(out / "learning_curve.png")}
    print(json.dumps(summary, indent=1))
    above = low > (final["baseline_cl"] or 0)
    print(f"CL@0.1 {localised / total:.3f} [{low:.3f}, {high:.3f}] vs random boxes {final['baseline_cl']:.3f}: "
          f"{'above the random-box baseline (interval excludes it)' if above else 'NOT above the baseline yet'}")
    return 0 if above else 1


if __name__ == "__main__":
    sys.exit(main())
