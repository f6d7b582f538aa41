"""Step timing without a host sync per step.

CUDA runs asynchronously: a clock read on the host times the launch, not the work, unless the host first waits for
the device, and a wait every step stops the host from queueing the next step (at batch 1 the queue is what keeps the
GPU busy). On CUDA each step is therefore bracketed by CUDA events, recorded in the stream at no cost, and their
times are read only at :meth:`StepTimer.flush` (the loop flushes when it logs); on other devices a wall clock is read
(the CPU computes synchronously, so the clock is the truth there).
"""

from __future__ import annotations

import time

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work: the one place the training code waits for a GPU (nothing on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StepTimer:
    """Durations of consecutive loop iterations: ``start()`` once, ``lap()`` at the end of each iteration,
    ``flush()`` to turn the pending laps into seconds (one device wait on CUDA, for all laps since the last flush)."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.device = device
        self.seconds: list[float] = []
        self._marks: list = []
        self._last_wall = 0.0

    def _mark(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record(torch.cuda.current_stream(self.device))
            return event
        return time.perf_counter()

    def start(self) -> None:
        """Start (or restart, after work that should not count, e.g. a checkpoint) the next lap."""
        if self.cuda and len(self._marks) > 1:
            self.flush()
        self._marks = [self._mark()] if self.cuda else []
        self._last_wall = time.perf_counter()

    def lap(self) -> None:
        if self.cuda:
            self._marks.append(self._mark())
        else:
            now = time.perf_counter()
            self.seconds.append(now - self._last_wall)
            self._last_wall = now

    def flush(self) -> list[float]:
        """All laps measured so far, in seconds (waits for the device on CUDA when laps are pending)."""
        if self.cuda and len(self._marks) > 1:
            self._marks[-1].synchronize()
            self.seconds += [a.elapsed_time(b) / 1000 for a, b in zip(self._marks, self._marks[1:], strict=False)]
            self._marks = self._marks[-1:]
        return self.seconds
