"""A staircase threshold only from at least 6 reversals, and with an interval."""
from __future__ import annotations

import math

import pytest

from readerstudy.reading.staircase import threshold_estimate, threshold_ms


def test_fewer_than_six_usable_reversals_give_no_threshold():
    assert threshold_estimate([800, 400, 640, 410, 650, 420, 660]) is None  # 2 dropped, 5 left
    assert threshold_ms([800, 400, 640, 410, 650, 420, 660]) is None
    assert threshold_estimate([800, 400, 640, 410, 650, 420, 660, 430]) is not None


def test_the_threshold_is_the_geometric_mean_and_the_interval_comes_from_peak_trough_midpoints():
    reversals = [2000, 900, 640, 410, 650, 420, 660, 400]
    estimate = threshold_estimate(reversals)
    used = reversals[2:]
    assert estimate.reversals_used == 6
    assert estimate.threshold_ms == pytest.approx(math.exp(sum(map(math.log, used)) / 6))
    midpoints = [(math.log(used[i]) + math.log(used[i + 1])) / 2 for i in (0, 2, 4)]
    mean = sum(midpoints) / 3
    sd = math.sqrt(sum((m - mean) ** 2 for m in midpoints) / 2)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2 df)
    assert estimate.ci_low == pytest.approx(math.exp(mean - half))
    assert estimate.ci_high == pytest.approx(math.exp(mean + half))
    assert estimate.ci_low < estimate.threshold_ms < estimate.ci_high


def test_an_odd_count_drops_the_earliest_and_more_steady_reversals_narrow_the_interval():
    seven = threshold_estimate([2000, 900, 700, 640, 410, 650, 420, 660, 400])
    assert seven.reversals_used == 6
    short = threshold_estimate([2000, 900] + [640, 410, 650, 420, 660, 400])
    long = threshold_estimate([2000, 900] + [640, 410, 650, 420, 660, 400] * 2)
    assert long.reversals_used == 12
    assert long.ci_high / long.ci_low < short.ci_high / short.ci_low
