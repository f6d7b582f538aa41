"""Validation of the marks analysis by simulation: readers who avoid the kept box by a known ratio (and, as a check
of the null, readers who do not), in the study's own design with readers and cases random. Prints, per true ratio,
the mean estimate, the coverage of the 95% two-way bootstrap interval and its mean width, and one study's estimate
with its interval (the figure the results page shows).

    .venv/bin/python bench/bench_marks.py                     # 200 studies per ratio, 5 readers, 40 box-kept fakes
    .venv/bin/python bench/bench_marks.py --studies 1000 --readers 8
    .venv/bin/python bench/bench_marks.py --figure change --ratios 1,1.5,2   # marks drawn to what StarGAN changed
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.marks.changes import change_attraction  # noqa: E402
from analysis.marks.simulate import (  # noqa: E402
    ChangeMarkingConfig,
    MarkingConfig,
    box_kept_cases,
    simulate_change_marks,
    simulate_marks,
)
from analysis.marks.statistics import box_avoidance  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--readers", type=int, default=5)
    parser.add_argument("--fakes", type=int, default=40,
                        help="fakes per study (box-kept, or StarGAN with --figure change)")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--ratios", default=None, help="true ratios (default 0.4,0.7,1.0; change: 1.0,1.5,2.0)")
    parser.add_argument("--figure", choices=["box", "change"], default="box",
                        help="box avoidance (box-kept fakes) or change attraction (StarGAN fakes with origins)")
    args = parser.parse_args()
    if args.figure == "change":
        base = ChangeMarkingConfig(readers=args.readers, fakes=args.fakes)

        def estimate(config, seed):
            simulated = simulate_change_marks(config, seed)
            return change_attraction(simulated.data, [True] * config.fakes, simulated.masks,
                                     resamples=args.resamples, seed=seed).ratio
    else:
        base = MarkingConfig(readers=args.readers, box_kept_fakes=args.fakes, all_generated_fakes=0, real_images=0)

        def estimate(config, seed):
            data = simulate_marks(config, seed)
            return box_avoidance(data, box_kept_cases(data), resamples=args.resamples, seed=seed).ratio
    ratios = args.ratios or ("1.0,1.5,2.0" if args.figure == "change" else "0.4,0.7,1.0")
    kind = "StarGAN fakes with origins" if args.figure == "change" else "box-kept fakes"
    print(f"{args.figure}: {args.studies} simulated studies per ratio: {args.readers} readers x {args.fakes} {kind}, "
          f"reader and case effects sd {base.reader_sd} / {base.case_sd} on the log ratio, {args.resamples} resamples")
    print(f"{'true':>6} {'mean est':>9} {'coverage':>9} {'mean width':>11} {'one study (95% CI)':>28} {'s':>6}")
    for true_ratio in (float(value) for value in ratios.split(",")):
        config = replace(base, true_ratio=true_ratio)
        started = time.perf_counter()
        estimates, covered, widths = [], [], []
        for seed in range(args.studies):
            ratio = estimate(config, seed)
            estimates.append(ratio.estimate)
            covered.append(ratio.low <= true_ratio <= ratio.high)
            widths.append(ratio.high - ratio.low)
            if seed == 0:
                one = f"{ratio.estimate:.2f} ({ratio.low:.2f} to {ratio.high:.2f})"
        print(f"{true_ratio:>6.2f} {np.mean(estimates):>9.3f} {np.mean(covered):>9.3f} {np.mean(widths):>11.3f} "
              f"{one:>28} {time.perf_counter() - started:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
