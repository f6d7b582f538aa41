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

Interleaved, delayed lanes (what a reader can see). A reader sees every exposure, so a staircase that moves right
after an answer tells whether that answer was right (the probe named correctness with AUC 0.90 this way). Each
generator therefore runs several lanes (``sequence.staircase_lanes``: images dealt to lanes by a secret draw), and an
answer moves its lane only ``answer_delay`` answers later, a delay drawn secretly per answer between half and one and
a half times the number of lanes. The exposures of the next several images never depend on the answer just given, and
when its effect arrives it is one step of one lane among many, mixed with the effects of other answers; each image is
shown one step above, at or below its lane's level, drawn at random (``shown_exposure``), so a lane's step is lost
among the draws. A generator's threshold pools its lanes' reversals (``pooled_threshold_estimate``).
"""
from __future__ import annotations

import math
import random
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


def answer_delay(seed: int, number: int, lanes: int) -> int:
    """How many answers later the reader's answer number ``number`` moves its lane: drawn from the reader's secret
    seed, uniformly between ``lanes // 2`` and ``lanes + lanes // 2``; 0 with a single lane (nothing to hide among)."""
    if lanes <= 1:
        return 0
    return random.Random(f"{seed}:delay:{number}").randint(lanes // 2, lanes + lanes // 2)


def shown_exposure(level_ms: int, seed: int, image: int, factor: float = 1.25) -> int:
    """The exposure an image on a lane at ``level_ms`` is shown for: the level moved by one step up, none or one
    step down, drawn from the reader's secret seed and the image (so it is the same at every request for it). A
    lane's one-step move is then no longer told apart from another image's draw; the threshold is still where the
    lane settles (the draw is symmetric on the log scale)."""
    step = random.Random(f"{seed}:jitter:{image}").choice((-1, 0, 1))
    return int(round(min(MAX_EXPOSURE_MS, max(MIN_EXPOSURE_MS, level_ms * factor ** step))))


def settle(state: Staircase, pending: list, upto: int | None, down: int = 2,
           factor: float = 1.25) -> tuple[Staircase, list]:
    """Apply, in order, the pending answers (``[due, correct]``) due at answer number ``upto`` or before (all of them
    when ``upto`` is None); return the staircase and what is still pending."""
    waiting = []
    for due, correct in sorted(pending, key=lambda item: item[0]):
        if upto is None or due <= upto:
            state = staircase_next(state, bool(correct), down=down, factor=factor)
        else:
            waiting.append([due, correct])
    return state, waiting


@dataclass(frozen=True)
class Lane:
    """One interleaved staircase and the answers on it that have not moved it yet (``[due, correct]``)."""

    staircase: Staircase
    pending: tuple = ()


def lanes_after_answer(lanes: dict, track, correct: bool, seed: int, down: int = 2,
                       factor: float = 1.25) -> dict:
    """A reader's lanes after one more answer on lane ``track``: the answer (the reader's number n, counting every
    answer on the lanes so far) waits until answer n + ``answer_delay``; every lane then takes the answers due."""
    number = 1 + sum(lane.staircase.trials + len(lane.pending) for lane in lanes.values())
    due = number + answer_delay(seed, number, len(lanes))
    after = {}
    for key, lane in lanes.items():
        pending = [*lane.pending, [due, bool(correct)]] if key == track else list(lane.pending)
        staircase, waiting = settle(lane.staircase, pending, number, down=down, factor=factor)
        after[key] = Lane(staircase, tuple(waiting))
    return after


def _midpoints(reversals) -> list[float]:
    """A lane's usable reversals (the first two dropped, the last 16, an even number) as mid-run log estimates."""
    usable = list(reversals[DROPPED_REVERSALS:])[-USED_REVERSALS:]
    usable = usable[len(usable) % 2:]
    logs = [math.log(value) for value in usable]
    return [(logs[index] + logs[index + 1]) / 2 for index in range(0, len(logs), 2)]


def threshold_estimate(reversals: list[int] | tuple[int, ...], alpha: float = 0.05) -> Threshold | None:
    """The threshold exposure with its (1 - alpha) interval, or None before there are 6 usable reversals."""
    return pooled_threshold_estimate([reversals], alpha)


def pooled_threshold_estimate(lanes: list, alpha: float = 0.05) -> Threshold | None:
    """The threshold from one generator's lanes (each a list of reversals): every lane's mid-run estimates pooled,
    with a t interval over them; None before there are 6 usable reversals in all."""
    midpoints = [value for reversals in lanes for value in _midpoints(reversals)]
    count = len(midpoints)
    if 2 * count < MIN_REVERSALS:
        return None
    mean = sum(midpoints) / count
    spread = math.sqrt(sum((value - mean) ** 2 for value in midpoints) / (count - 1))
    half = float(stdtrit(count - 1, 1 - alpha / 2)) * spread / math.sqrt(count)
    return Threshold(threshold_ms=math.exp(mean), ci_low=math.exp(mean - half), ci_high=math.exp(mean + half),
                     reversals_used=2 * count)


def threshold_ms(reversals: list[int] | tuple[int, ...]) -> float | None:
    """The threshold exposure from a staircase's reversals, or None before there are 6 usable ones."""
    estimate = threshold_estimate(reversals)
    return None if estimate is None else estimate.threshold_ms
