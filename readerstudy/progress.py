"""Progress of a long task written where a page can poll it, at most twice a second (one UPDATE per row of work
would cost more than the work)."""
from __future__ import annotations

import time
from collections.abc import Callable

PROGRESS_EVERY_S = 0.5


class ThrottledProgress:
    """A ``progress(done, total)`` callback that passes a call on to ``write`` at most every ``every_s`` seconds,
    and always the last one (``done == total``), so a finished task never shows as unfinished."""

    def __init__(self, write: Callable[[int, int], None], every_s: float = PROGRESS_EVERY_S):
        self.write, self.every_s, self.last = write, every_s, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self.last >= self.every_s:
            self.last = now
            self.write(done, total)
