"""Check that a change in how the bootstraps draw their random numbers left their intervals statistically the same:
the per-reader HYPE-infinity intervals (``readers_error_rates``), the reader-and-case bootstrap's
(``two_way_bootstrap``: the pooled called-real and HYPE rows) and the agreement's (kappa, PABAK, agreement on fake
and on real, all images and per source), old code against new, on a study shaped like the results-page benchmark's
(300 readers x 600 cases by default).

    .venv/bin/python bench/check_resampling.py --baseline cc5583d [--readers 300] [--seeds 100]

The old code is the module as it was at git revision ``--baseline``. Each version runs under ``--seeds`` seeds; for
every interval end the two means are compared with their Monte Carlo standard error (z). With no difference |z| is
about 0.8 on average and above 1.96 for about 5% of the ends; the ends take few distinct values (counts / n), so the
largest |z| is heavier-tailed than a normal's: the old code against itself under other seeds gives the yardstick.
It prints the CPU time of one run of each too.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def old_module(revision: str, name: str):
    """``analysis.<name>`` as it was at ``revision`` (its relative imports from today's package)."""
    source = subprocess.run(["git", "show", f"{revision}:analysis/{name}.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(f"analysis._old_{name}", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "analysis"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:analysis/{name}.py", "exec"), module.__dict__)  # noqa: S102 (our own code)
    return module


def study(readers: int, seed: int = 15) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Called real (readers x 600 cases) and each case's source, like bench_results_page's fill: one real source
    (called real 85% of the time) and three generators (10%, 30%, 50%), reader and case effects."""
    rng = np.random.default_rng(seed)
    case_source = np.repeat(np.arange(4), 150)
    passes = np.array([0.85, 0.1, 0.3, 0.5])[case_source] + rng.normal(0, 0.1, 600)
    probability = np.clip(passes[None, :] + rng.normal(0, 0.08, (readers, 1)), 0.02, 0.98)
    return (rng.random((readers, 600)) < probability).astype(float), case_source, [True, False, False, False]


def compare(label: str, old_runs: np.ndarray, new_runs: np.ndarray) -> None:
    """The z of each interval end's mean difference (first vs second: old vs new) over the seeds."""
    old_runs, new_runs = np.asarray(old_runs, float), np.asarray(new_runs, float)
    seeds = len(old_runs)
    standard_error = np.sqrt(old_runs.var(axis=0) / seeds + new_runs.var(axis=0) / seeds)
    usable = np.isfinite(old_runs[0]) & (standard_error > 0)
    z = (new_runs.mean(axis=0) - old_runs.mean(axis=0))[usable] / standard_error[usable]
    spread = old_runs.std(axis=0)[usable]
    print(f"{label}: {z.size} interval ends; |z| mean {np.abs(z).mean():.2f} (0.80 if the same), share above 1.96 "
          f"{np.mean(np.abs(z) > 1.96):.3f} (0.05), max {np.abs(z).max():.2f}; largest mean difference "
          f"{np.abs(new_runs.mean(0) - old_runs.mean(0))[usable].max():.4f} against a run's own Monte Carlo sd of "
          f"median {np.median(spread):.4f}; sd second/first median {np.median(new_runs.std(0)[usable] / spread):.3f}")


def timed(function, *args, **kwargs) -> float:
    started = time.process_time()
    function(*args, **kwargs)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the git revision of the old code")
    parser.add_argument("--readers", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=100)
    args = parser.parse_args()
    from analysis import agreement_measures, statistics, two_way_bootstrap

    old_statistics = old_module(args.baseline, "statistics")
    old_bootstrap = old_module(args.baseline, "two_way_bootstrap")
    old_agreement = old_module(args.baseline, "agreement_measures")
    called_real, case_source, source_is_real = study(args.readers)

    # each reader's HYPE: errors per reader on the real images and on each generator's
    real_votes = case_source == 0
    n_real = np.full(args.readers, real_votes.sum())
    errors_real = n_real - called_real[:, real_votes].sum(axis=1).astype(int)
    n_fake = np.stack([np.full(args.readers, (case_source == g).sum()) for g in (1, 2, 3)], axis=1)
    errors_fake = np.stack([called_real[:, case_source == g].sum(axis=1).astype(int) for g in (1, 2, 3)], axis=1)
    counts = (n_real, errors_real, n_fake, errors_fake)
    for name, module in (("old", old_statistics), ("new", statistics)):
        cpu = min(timed(module.readers_error_rates, *counts, np.random.default_rng([15, 1])) for _ in range(3))
        print(f"{name} readers_error_rates: {cpu:.3f} s CPU")
    def hype(module, seeds):
        return np.array([module.readers_error_rates(*counts, np.random.default_rng([seed, 1]))[1:] for seed in seeds])

    old_runs = hype(old_statistics, range(args.seeds))
    compare("per-reader HYPE intervals, old vs new", old_runs, hype(statistics, range(args.seeds)))
    compare("per-reader HYPE intervals, old vs old (other seeds)", old_runs,
            hype(old_statistics, range(10_000, 10_000 + args.seeds)))

    # the pooled rows: called real per source and HYPE per generator, readers and cases resampled
    def ends(module, seed):
        result = module.called_real_and_hype(called_real, case_source, source_is_real, seed=[seed, 99])
        return [[row.low, row.high] for row in (*result["called_real"], *result["hype_infinity"])]

    for name, module in (("old", old_bootstrap), ("new", two_way_bootstrap)):
        cpu = min(timed(ends, module, 0) for _ in range(3))
        print(f"{name} called_real_and_hype: {cpu:.3f} s CPU")
    old_runs = np.array([ends(old_bootstrap, seed) for seed in range(args.seeds)])
    compare("pooled two-way intervals, old vs new", old_runs,
            np.array([ends(two_way_bootstrap, seed) for seed in range(args.seeds)]))

    # agreement between readers: all images and each source's, kappa and the measures beyond it
    matrix = called_real.T.astype(np.int8)  # cases x readers
    subsets = [matrix, *(matrix[case_source == s] for s in range(len(source_is_real)))]

    def agreement_ends(module, seed):
        rows = [module.agreement(subset, seed) for subset in subsets]
        return [[row["ci_low"], row["ci_high"]] for row in rows] + [
            [row[name]["ci_low"], row[name]["ci_high"]] for row in rows
            for name in ("pabak", "positive_agreement", "negative_agreement")]

    for name, module in (("old", old_agreement), ("new", agreement_measures)):
        cpu = min(timed(agreement_ends, module, 0) for _ in range(3))
        print(f"{name} agreement (all images and {len(source_is_real)} sources): {cpu:.3f} s CPU")
    compare("agreement intervals, old vs new",
            np.array([agreement_ends(old_agreement, seed) for seed in range(args.seeds)]),
            np.array([agreement_ends(agreement_measures, seed) for seed in range(args.seeds)]))


if __name__ == "__main__":
    main()
