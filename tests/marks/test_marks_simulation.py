"""The box-avoidance interval, by simulation in the study's own design: readers and cases both random, a known true
ratio; the interval should hold the truth about 95% of the time (a smaller run than bench/bench_marks.py)."""
import numpy as np

from analysis.marks.simulate import MarkingConfig, box_kept_cases, simulate_marks
from analysis.marks.statistics import box_avoidance


def test_the_two_way_interval_covers_the_true_box_avoidance_near_nominal():
    config = MarkingConfig(readers=5, box_kept_fakes=30, all_generated_fakes=0, real_images=0, true_ratio=0.5)
    covered, estimates = [], []
    for seed in range(60):
        data = simulate_marks(config, seed)
        ratio = box_avoidance(data, box_kept_cases(data), resamples=400, seed=seed).ratio
        covered.append(ratio.low <= config.true_ratio <= ratio.high)
        estimates.append(ratio.estimate)
    assert 0.88 <= np.mean(covered) <= 1.0
    assert abs(np.mean(estimates) - config.true_ratio) < 0.05
