"""Keep an ``auto`` CPU run on the faster thread count while the machine's load changes under it.

The start-up probe (``training.autotune``) picks the thread count for the load of that minute, but a run lasts hours
on a shared machine: on 2 cores, a paper-size Pix2Pix step in bf16 took 0.46 s with two threads when the machine was
otherwise idle and 3-5 s with two threads once other work kept both cores busy (OpenMP's threads wait for each other
whenever the scheduler takes one away), where one thread kept about 0.8 s. So every ``period`` steps the governor times
a few steps at the other thread count (the first of them discarded: a new count's first step re-plans oneDNN's
kernels) and moves there when it was faster by more than ``margin`` than the recent steps at the current count.

A trial that loses costs a few slow steps, so after each losing trial the period doubles (up to ``max_period``), and
it returns to ``period`` after a move. Thread counts change no arithmetic (the same kernels, split differently), so
the run computes the same thing whichever count it is on. Every move is logged and kept in ``moves``.
"""

from __future__ import annotations

import logging
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

log = logging.getLogger(__name__)


@dataclass
class ThreadGovernor:
    choices: tuple[int, ...]
    current: int
    period: int = 200
    max_period: int = 3200
    trial_steps: int = 3
    margin: float = 0.10
    set_threads: Callable[[int], None] = torch.set_num_threads
    moves: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.current not in self.choices:
            raise ValueError(f"the current thread count {self.current} is not one of {self.choices}")
        self._recent: deque[float] = deque(maxlen=8)
        self._since_trial = 0
        self._wait = self.period
        self._trying: int | None = None
        self._trial: list[float] = []

    def observe(self, step: int, seconds: float) -> None:
        """The step ``step`` took ``seconds`` at the thread count set before it; may set the count for the next."""
        if self._trying is None:
            self._recent.append(seconds)
            self._since_trial += 1
            others = [c for c in self.choices if c != self.current]
            if others and self._since_trial >= self._wait and len(self._recent) >= 4:
                self._trying = others[(len(self.moves) + self._since_trial) % len(others)]
                self._trial = []
                self.set_threads(self._trying)
            return
        self._trial.append(seconds)
        if len(self._trial) <= self.trial_steps:
            return
        measured = min(self._trial[1:])  # the first step at a new count is a warm-up
        settled = statistics.median(self._recent)
        candidate, self._trying, self._since_trial = self._trying, None, 0
        if measured < settled * (1 - self.margin):
            self.moves.append({"step": step, "from": self.current, "to": candidate,
                               "step_seconds_before": round(settled, 4), "step_seconds_after": round(measured, 4)})
            log.info("threads: %d -> %d at step %d (%.3f s a step against %.3f s)", self.current, candidate, step,
                     measured, settled)
            self.current = candidate
            self._recent.clear()
            self._wait = self.period
        else:
            self.set_threads(self.current)
            self._wait = min(self._wait * 2, self.max_period)
