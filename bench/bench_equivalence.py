"""Benchmark the pre-registered equivalence / non-inferiority test against the truth (issue 26, point 1).

    .venv/bin/python bench/bench_equivalence.py [--studies 2000] [--seed 26] [--margin 0.10]

Simulated studies (``analysis/mrmc/simulate.py``; one generator against the real images) whose generator's population
called-real rate lies exactly ``margin`` below the real images' (for equivalence also ``margin`` above): the share
that the test passes is its type I error, which must not exceed alpha (0.05, one-sided) beyond simulation noise (two
binomial standard errors). At a true difference of 0 the share that passes is the power. Two study sizes: 5 readers x
(60 real + 60 fakes) and 10 readers x (150 + 150). Pure numpy/scipy: no database, no Django.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.equivalence import Margin  # noqa: E402
from analysis.equivalence_simulation import type_i_and_power  # noqa: E402
from analysis.mrmc.simulate import SimulationConfig  # noqa: E402

SIZES = (SimulationConfig(n_readers=5, n_real=60, n_fake=60), SimulationConfig(n_readers=10, n_real=150, n_fake=150))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--margin", type=float, default=0.10)
    args = parser.parse_args()
    met = True
    print(f"{'test':<16} {'readers x cases':>16} {'type I (at margin)':>19} {'power (diff 0)':>15} {'time':>7}")
    for test in ("non_inferiority", "equivalence"):
        plan = Margin(endpoint="called_real", test=test, margin=args.margin, alpha=0.05)
        for config in SIZES:
            started = time.perf_counter()
            found = type_i_and_power(config, plan, args.studies, seed=args.seed)
            elapsed = time.perf_counter() - started
            cases = config.n_real + config.n_fake
            print(f"{test:<16} {f'{config.n_readers} x {cases}':>16} {found['type_i_error']:>19.3f} "
                  f"{found['power_at_zero']:>15.3f} {elapsed:>6.1f}s")
            noise = 2 * math.sqrt(plan.alpha * (1 - plan.alpha) / args.studies)
            met &= found["type_i_error"] <= plan.alpha + noise
    print(f"target (type I error <= alpha 0.05 within two simulation SEs): {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
