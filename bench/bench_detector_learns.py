"""Evidence that the detector learns: a short CPU run on phantom data against a random-box baseline.

Phantom findings are drawn inside their boxes, so a detector that learns must localise them far better than boxes
placed at random (as many as the detector placed, sized like training boxes; :mod:`training.localisation.baseline`).
The run is the experiment itself (``run_experiment``, protocol ``ori``) with the tiny backbone at 128 px; it prints
CL@0.1 beside the baseline at every evaluation and copies the learning curve (loss, CL vs baseline) to ``--out``.

    .venv/bin/python bench/bench_detector_learns.py [--steps 600] [--eval-every 100] [--out var/bench/learns]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.data.phantom import make_phantom  # noqa: E402
from training.localisation.experiment import LocalisationConfig, read_learning, run_experiment  # noqa: E402
from training.localisation.table2 import BOX_TOTAL, MEAN_TOTAL  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--backbone", default="tiny_fpn")
    parser.add_argument("--disease", type=int, default=200, help="phantom images with boxes")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="var/bench/detector-learns", help="where the learning curve PNG goes")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="detector-learns-") as scratch:
        data, run = Path(scratch) / "phantom", Path(scratch) / "run"
        make_phantom(data, disease=args.disease, healthy=2, size=args.image_size, seed=args.seed)
        config = LocalisationConfig(
            data=str(data), out=str(run), backbone=args.backbone, image_size=args.image_size,
            batch_size=args.batch_size, optimizer="adam", lr=args.lr, steps=args.steps, eval_every=args.eval_every,
            report_steps=(args.steps,), window_half_width=args.eval_every, seed=args.seed, device="cpu",
            progress=sys.stderr.isatty())
        started, cpu_started = time.perf_counter(), time.process_time()
        table = run_experiment(config)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        rows = read_learning(run / "learning.csv")
        shutil.copy(run / "learning_curve.png", out / "learning_curve.png")
        shutil.copy(run / "learning.csv", out / "learning.csv")
    print(f"{'step':>6} {'loss':>8} {'CL@0.1':>7} {'random':>7} {'FP/img':>7}")
    for row in rows:
        print(f"{int(row['step']):>6} {row['loss']:>8.3f} {row['cl'] or 0:>7.3f} {row['baseline_cl'] or 0:>7.3f} "
              f"{row['fp_per_image']:>7.2f}")
    final = rows[-1]
    column = table.values[table.columns[-1]]
    summary = {"steps": args.steps, "image_size": args.image_size, "backbone": args.backbone,
               "batch_size": args.batch_size, "threads": args.threads, "wall_s": round(wall, 1),
               "cpu_s": round(cpu, 1), "first_loss": rows[0]["loss"], "final_loss": final["loss"],
               "final_cl": final["cl"], "final_random_box_cl": final["baseline_cl"],
               "final_fp_per_image": final["fp_per_image"], "table2_total_mean_of_rows": column[MEAN_TOTAL],
               "table2_total_box_weighted": column[BOX_TOTAL],
               "learning_curve": str(out / "learning_curve.png")}
    print(json.dumps(summary, indent=1))
    learned = (final["cl"] or 0) >= 2 * (final["baseline_cl"] or 0) + 0.1
    print(f"CL@0.1 {final['cl']:.3f} vs random boxes {final['baseline_cl']:.3f}: "
          f"{'learns (well above chance)' if learned else 'NOT clearly above chance'}")
    return 0 if learned else 1


if __name__ == "__main__":
    sys.exit(main())
