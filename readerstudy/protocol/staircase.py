"""The adaptive exposure rule (a transformed up-down staircase), as pure functions.

After ``down`` correct answers in a row the exposure is divided by ``factor`` (harder); after an error it is multiplied
by ``factor`` (easier). With down = 2 this is Levitt's 2-down/1-up rule, which settles where the reader is right
70.7% of the time. A *reversal* is a change of direction; the threshold is the geometric mean of the exposures at the
last reversals (the first two are dropped as the approach from the starting exposure).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .models import MAX_EXPOSURE_MS, MIN_EXPOSURE_MS

DROPPED_REVERSALS = 2
USED_REVERSALS = 16


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


def threshold_ms(reversals: list[int] | tuple[int, ...]) -> float | None:
    """The threshold exposure from a staircase's reversals, or None before there are enough (three)."""
    usable = list(reversals[DROPPED_REVERSALS:]) if len(reversals) > DROPPED_REVERSALS else []
    usable = usable[-USED_REVERSALS:]
    if not usable:
        return None
    return math.exp(sum(math.log(value) for value in usable) / len(usable))
