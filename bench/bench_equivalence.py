"""Benchmark the pre-registered equivalence / non-inferiority test against the truth (issue 26, point 1).

    .venv/bin/python bench/bench_equivalence.py [--studies 2000] [--seed 26] [--margin 0.10] [--auc-margin 0.10]
                                                [--proposal-studies 1000]

Both endpoints. Simulated studies (``analysis/mrmc/simulate.py``) whose generator lies exactly at the margin: its
population called-real rate ``margin`` below the real images' (equivalence: also above), or its population AUC
against them 0.5 + ``auc-margin`` (equivalence: also 0.5 - ``auc-margin``; ``analysis/equivalence_simulation.py``
solves the separation). The share that the test passes is its type I error, which must not exceed alpha (0.05,
one-sided) beyond simulation noise (two binomial standard errors). At a true difference of 0 (AUC 0.5) the share
that passes is the power. Two study sizes: 5 readers x (60 real + 60 fakes) and 10 readers x (150 + 150); for the
AUC each study carries a second, identical generator (the AUC analysis compares generators) whose cases G1's verdict
does not use.

The proposal (``--proposal-studies``, 0 to skip): each reachable row of the set-up's readers x cases proposal for a
non-inferiority plan (``analysis/equivalence_power.py``) is simulated at a true difference of 0 (AUC 0.5); the share
that passes should be about the 80% promised (within 0.05, beyond two simulation standard errors). For the AUC the
literature default's proposal (Van Dyke's components, the power module's difference formula, as proposed before) is
simulated too, to show what it promised. Pure numpy/scipy: no database, no Django.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import equivalence_power as planned  # noqa: E402
from analysis.equivalence import Margin  # noqa: E402
from analysis.equivalence_simulation import power_in_simulation, type_i_and_power  # noqa: E402
from analysis.mrmc import power as mrmc_power  # noqa: E402
from analysis.mrmc.simulate import SimulationConfig  # noqa: E402

SIZES = (SimulationConfig(n_readers=5, n_real=60, n_fake=60), SimulationConfig(n_readers=10, n_real=150, n_fake=150))
PROPOSAL_TOLERANCE = 0.05
MAX_SIMULATED_CASES = 5_000  # proposal rows beyond this are printed, not simulated (time)


def _noise(share: float, studies: int) -> float:
    return 2 * math.sqrt(share * (1 - share) / studies)


def type_i_table(args) -> bool:
    met = True
    print(f"{'endpoint':<12} {'test':<16} {'readers x cases':>16} {'type I (at margin)':>19} {'power (diff 0)':>15} "
          f"{'time':>7}")
    for endpoint, margin in (("called_real", args.margin), ("auc", args.auc_margin)):
        for test in ("non_inferiority", "equivalence"):
            plan = Margin(endpoint=endpoint, test=test, margin=margin, alpha=0.05)
            for config in SIZES:
                started = time.perf_counter()
                found = type_i_and_power(config, plan, args.studies, seed=args.seed)
                elapsed = time.perf_counter() - started
                cases = config.n_real + config.n_fake
                print(f"{endpoint:<12} {test:<16} {f'{config.n_readers} x {cases}':>16} "
                      f"{found['type_i_error']:>19.3f} {found['power_at_zero']:>15.3f} {elapsed:>6.1f}s", flush=True)
                met &= found["type_i_error"] <= plan.alpha + _noise(plan.alpha, args.studies)
    print(f"target (type I error <= alpha 0.05 within two simulation SEs, both endpoints, {args.studies} studies "
          f"each): {'met' if met else 'NOT met'}")
    return met


def proposal_table(args) -> bool:
    studies = args.proposal_studies
    met = True
    print(f"\nproposal vs simulation (non-inferiority, {studies} studies per row at a true difference of 0; "
          f"promised {planned.TARGET_POWER:.0%})")
    print(f"{'endpoint':<12} {'pilot':<28} {'readers':>7} {'cases':>6} {'promised':>9} {'simulated':>10} {'time':>7}")
    rows = []
    for endpoint, margin in (("called_real", args.margin), ("auc", args.auc_margin)):
        plan = Margin(endpoint=endpoint, margin=margin, alpha=0.05)
        for row in planned.proposal_rows(planned.simulated_pilot(endpoint), plan):
            rows.append((plan, "simulated (now)", row["readers"], row["cases"], row["power"], True))
    auc_plan = Margin(endpoint="auc", margin=args.auc_margin, alpha=0.05)
    for readers in planned.READER_COUNTS:
        found = mrmc_power.cases_needed(planned.VANDYKE_AUC, readers=readers, effect_size=auc_plan.margin,
                                        target=planned.TARGET_POWER, alpha=2 * auc_plan.alpha, max_cases=20_000)
        if readers in (5, 10) and found is not None:
            rows.append((auc_plan, "Van Dyke (before)", readers, found.cases, found.power, False))
    for plan, pilot, readers, cases, promised, checked in rows:
        if cases is None:
            print(f"{plan.endpoint:<12} {pilot:<28} {readers:>7} {'not reachable':>17}")
            continue
        if cases > MAX_SIMULATED_CASES:
            print(f"{plan.endpoint:<12} {pilot:<28} {readers:>7} {cases:>6} {promised:>9.3f} {'(not run)':>10}")
            continue
        started = time.perf_counter()
        share = power_in_simulation(plan, readers, cases, studies, seed=args.seed)
        elapsed = time.perf_counter() - started
        print(f"{plan.endpoint:<12} {pilot:<28} {readers:>7} {cases:>6} {promised:>9.3f} {share:>10.3f} "
              f"{elapsed:>6.1f}s", flush=True)
        if checked:
            met &= abs(share - planned.TARGET_POWER) <= PROPOSAL_TOLERANCE + _noise(planned.TARGET_POWER, studies)
    print(f"target (the current proposal's rows pass {planned.TARGET_POWER:.0%} +- {PROPOSAL_TOLERANCE} of simulated "
          f"studies within two simulation SEs): {'met' if met else 'NOT met'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--margin", type=float, default=0.10, help="the called-real margin")
    parser.add_argument("--auc-margin", type=float, default=0.10, help="the AUC margin (0.10: AUC at most 0.60)")
    parser.add_argument("--proposal-studies", type=int, default=1000, help="0 skips the proposal check")
    args = parser.parse_args()
    started = time.perf_counter()
    met = type_i_table(args)
    if args.proposal_studies > 0:
        met &= proposal_table(args)
    print(f"wall time {time.perf_counter() - started:.0f}s")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
