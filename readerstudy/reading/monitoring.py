"""Monitoring readers while a study runs: progress, time on image, and flags for readers whose answers may not be
readings at all (too fast to have looked, or the same answer nearly always).

The thresholds live here, once; the readers page and the API name them with each flag. A flag is a prompt to look
(talk to the reader, check the audit trail), never an automatic exclusion: the results count every reader.

A fixed number of queries however many readers and votes (the votes' times and answers are read in one statement
and summarised here).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import median

from readerstudy.studies.models import Study

from .models import RepeatVote, Vote
from .selectors import readers_overview

# A reader whose median time on an image is below this cannot have looked at it (a glance at a chest X-ray takes
# longer): their answers are probably clicks, not readings.
FAST_MEDIAN_MS = 500
# A reader who gives one answer (real, or fake) to at least this share of the images is not discriminating.
ONE_SIDED_SHARE = 0.95
# Flags wait for this many answers: a handful of fast or same answers says nothing yet.
MIN_ANSWERS_FOR_FLAGS = 10


@dataclass(frozen=True)
class Thresholds:
    fast_median_ms: int = FAST_MEDIAN_MS
    one_sided_share: float = ONE_SIDED_SHARE
    min_answers: int = MIN_ANSWERS_FOR_FLAGS

    def described(self) -> list[str]:
        return [
            f"too fast: median time on an image below {self.fast_median_ms} ms",
            f"one-sided: the same answer to {self.one_sided_share:.0%} or more of the images",
            f"flags wait for {self.min_answers} answers",
        ]


THRESHOLDS = Thresholds()


def reader_monitoring(study: Study, thresholds: Thresholds = THRESHOLDS) -> list[dict]:
    """Per reader: the progress of ``readers_overview`` plus median and fastest time on an image (ms, answers that
    carry a time), the share of their most frequent answer, and the flags that apply, each saying why."""
    times: dict[int, list[int]] = defaultdict(list)
    answers: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for model in (Vote, RepeatVote):
        for membership_id, time_ms, answer in (model.objects.filter(membership__study=study).order_by()
                                               .values_list("membership_id", "time_ms", "answer")):
            if time_ms is not None:
                times[membership_id].append(time_ms)
            answers[membership_id][answer] += 1
    rows = []
    for row in readers_overview(study):
        member_id = row["membership"].pk
        timed = times.get(member_id, [])
        counts = answers.get(member_id, {})
        n_answers = sum(counts.values())
        top_answer, top_count = max(counts.items(), key=lambda item: item[1]) if counts else ("", 0)
        share = top_count / n_answers if n_answers else None
        median_ms = round(median(timed)) if timed else None
        flags = []
        if n_answers >= thresholds.min_answers:
            if median_ms is not None and median_ms < thresholds.fast_median_ms:
                flags.append({"flag": "fast", "why": f"median {median_ms} ms per image, below "
                                                     f"{thresholds.fast_median_ms} ms"})
            if share is not None and share >= thresholds.one_sided_share:
                flags.append({"flag": "one_sided", "why": f"answered {top_answer} to {share:.0%} of "
                                                          f"{n_answers} images"})
        rows.append({**row, "median_ms": median_ms, "fastest_ms": min(timed) if timed else None,
                     "timed_answers": len(timed), "top_answer": top_answer, "top_share": share, "flags": flags})
    return rows
