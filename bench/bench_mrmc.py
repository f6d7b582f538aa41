"""Benchmark the MRMC analysis: is it right (simulated null studies) and is it fast (one large study)?

    .venv/bin/python bench/bench_mrmc.py [--studies 1000] [--seed 11]

1. **Null studies** (issue 15, point 4): ``--studies`` simulated studies (5 readers; 60 real images and two equal
   generators of 50 fakes each; crossed reader and case effects, reader-specific response bias; see
   ``analysis/mrmc/simulate.py``). For the RRRC comparison of the two generators, on the called-real rate
   and on the AUC: the type I error at nominal 0.05 (target 0.035-0.065) and the 95% CI coverage (target >= 0.93),
   next to the naive pooled tests (every vote independent); and the coverage of one generator's called-real rate
   (RRRC interval against the pooled Wilson interval).
2. **Speed**: the whole analysis (both figures of merit; RRRC, FRRC, RRFC; every pair) of 50 readers x 600 cases x 3
   generators (150 real images and 150 fakes per generator, 30,000 votes), and of the larger reading (600 real images
   and 600 fakes per generator, 120,000 votes). Target < 2 s. Each timing is the best of 3. For information, one run
   at bench_results' size (50 readers x 20,000 cases, 1,000,000 votes).
Pure numpy/scipy: no database, no Django.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.mrmc.simulate import SimulationConfig, simulate_study  # noqa: E402
from analysis.mrmc.study import study_mrmc  # noqa: E402
from analysis.mrmc.validation import null_rates  # noqa: E402

TYPE_I_RANGE = (0.035, 0.065)
MIN_COVERAGE = 0.93
TIME_TARGET_S = 2.0


def null_section(studies: int, seed: int) -> bool:
    config = SimulationConfig()
    started = time.perf_counter()
    rates = null_rates(config, studies, seed=seed)
    elapsed = time.perf_counter() - started
    print(f"Null studies: {studies} x ({config.n_readers} readers, {config.n_real} real + 2 x {config.n_fake} fakes, "
          f"equal generators), {elapsed:.1f} s")
    print(f"{'comparison of G1 and G2':<34} {'type I error':>12} {'95% CI coverage':>16}")
    rows = [("RRRC, called-real rate", "rrrc_rate"), ("naive pooled, called-real rate", "naive_rate"),
            ("RRRC, AUC", "rrrc_auc"), ("naive pooled, AUC", "naive_auc")]
    for label, key in rows:
        print(f"{label:<34} {rates[key + '_reject']:>12.3f} {rates[key + '_covers']:>16.3f}")
    print(f"G1's called-real rate, coverage of its 95% interval: RRRC {rates['rrrc_single_covers']:.3f}, "
          f"pooled Wilson {rates['naive_single_covers']:.3f}")
    low, high = TYPE_I_RANGE
    met = all(low <= rates[f"rrrc_{figure}_reject"] <= high and rates[f"rrrc_{figure}_covers"] >= MIN_COVERAGE
              for figure in ("rate", "auc")) and rates["rrrc_single_covers"] >= MIN_COVERAGE
    print(f"target (RRRC type I error {low}-{high}, coverage >= {MIN_COVERAGE}): {'met' if met else 'NOT met'}")
    return met


def time_analysis(n_real: int, n_fake: int, readers: int = 50, repeats: int = 3) -> float:
    config = SimulationConfig(n_readers=readers, n_real=n_real, n_fake=n_fake, separations=(0.6, 0.8, 1.0))
    study = simulate_study(config, 3)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        result = study_mrmc(study.reader, study.case, study.source, study.called_real, study.fake_score,
                            readers=study.readers, sources=config.sources, source_is_real=config.source_is_real)
        best = min(best, time.perf_counter() - started)
    assert result.auc is not None and result.called_real is not None
    assert len(result.auc.rrrc.differences) == 3 and len(result.called_real.rrrc.differences) == 6
    return best


def speed_section() -> bool:
    print("Speed: the whole analysis (AUC and called-real rate; RRRC, FRRC, RRFC; every pair), best of 3")
    met = True
    for n_real, n_fake in ((150, 150), (600, 600), (5000, 5000)):
        cases = n_real + 3 * n_fake
        elapsed = time_analysis(n_real, n_fake, repeats=3 if cases < 10_000 else 1)
        if cases <= 2400:  # the target's size; the million-vote study is for information (bench_results' size)
            met &= elapsed < TIME_TARGET_S
        print(f"  50 readers x {cases} cases ({n_real} real + 3 x {n_fake} fakes, {50 * cases:,} votes): "
              f"{elapsed:.3f} s")
    print(f"target (< {TIME_TARGET_S} s): {'met' if met else 'NOT met'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    speed = speed_section()
    print()
    right = null_section(args.studies, args.seed)
    sys.exit(0 if speed and right else 1)


if __name__ == "__main__":
    main()
