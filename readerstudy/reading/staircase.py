"""The adaptive exposure rule (a transformed up-down staircase), as pure functions.

After ``down`` correct answers in a row the exposure is divided by ``factor`` (harder); after an error it is multiplied
by ``factor`` (easier). With down = 2 this is Levitt's 2-down/1-up rule, which settles where the reader is right
70.7% of the time. A *reversal* is a change of direction; the threshold is the geometric mean of the exposures at the
last reversals (the first two are dropped as the approach from the starting exposure, at most the last 16 are used).

A threshold is given only from at least 6 reversals (after the two dropped): fewer say more about the starting
exposure than about the reader. Its interval treats each consecutive pair of reversals (a peak and a trough) as one
mid-run estimate (Levitt 1971): successive reversals are strongly dependent, their pairs' midpoints much less, so a t
interval over the midpoints' logs (an even number of reversals, the earliest dropped when odd) is a fair 95% interval
for where this reader's staircase settles.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy.special import stdtrit

from .models import MAX_EXPOSURE_MS, MIN_EXPOSURE_MS

DROPPED_REVERSALS = 2
USED_REVERSALS = 16
MIN_REVERSALS = 6


@dataclass(frozen=True)
class Staircase:
    level_ms: int
    correct_run: int = 0
    direction: int = 0
    reversals: tuple[int, ...] = field(default_factory=tuple)
    trials: int = 0


def staircase_next(state: Staircase, correct: bool, down: int = 2, factor: float = 1.25) -> Staircase:
    """The staircase after one answer."""
    run, move = state.correct_run, 0
    if correct:
        run += 1
        if run >= down:
            move, run = -1, 0
    else:
        move, run = 1, 0
    level = state.level_ms
    reversals = state.reversals
    if move:
        if state.direction and move != state.direction:
            reversals = (*reversals, state.level_ms)
        scaled = level / factor if move < 0 else level * factor
        level = int(round(min(MAX_EXPOSURE_MS, max(MIN_EXPOSURE_MS, scaled))))
    return Staircase(level_ms=level, correct_run=run, direction=move or state.direction, reversals=reversals,
                     trials=state.trials + 1)


@dataclass(frozen=True)
class Threshold:
    threshold_ms: float
    ci_low: float
    ci_high: float
    reversals_used: int


def threshold_estimate(reversals: list[int] | tuple[int, ...], alpha: float = 0.05) -> Threshold | None:
    """The threshold exposure with its (1 - alpha) interval, or None before there are 6 usable reversals."""
    usable = list(reversals[DROPPED_REVERSALS:])[-USED_REVERSALS:]
    if len(usable) < MIN_REVERSALS:
        return None
    usable = usable[len(usable) % 2:]
    logs = [math.log(value) for value in usable]
    midpoints = [(logs[index] + logs[index + 1]) / 2 for index in range(0, len(logs), 2)]
    count = len(midpoints)
    mean = sum(midpoints) / count
    spread = math.sqrt(sum((value - mean) ** 2 for value in midpoints) / (count - 1))
    half = float(stdtrit(count - 1, 1 - alpha / 2)) * spread / math.sqrt(count)
    return Threshold(threshold_ms=math.exp(mean), ci_low=math.exp(mean - half), ci_high=math.exp(mean + half),
                     reversals_used=len(usable))


def threshold_ms(reversals: list[int] | tuple[int, ...]) -> float | None:
    """The threshold exposure from a staircase's reversals, or None before there are 6 usable ones."""
    estimate = threshold_estimate(reversals)
    return None if estimate is None else estimate.threshold_ms
