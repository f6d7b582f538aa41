"""What marks add to storing a vote, measured in-process on PostgreSQL with the two kinds of vote interleaved (so a
loaded machine slows both alike): a Fake vote without marks against one with three, through the reader API's service
(``votes.answer_cast``), each on a case the reader has not answered yet. Prints the median and p99 of each and their
difference. Run after ``bench/bench_reading.py`` has built its database (this sets the bench study to ask for marks):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_reading .venv/bin/python bench/bench_vote_marks.py
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")


def main() -> int:
    import django

    django.setup()
    from readerstudy.reading import votes
    from readerstudy.reading.models import StudyProtocol
    from readerstudy.reading.selectors import reader_for
    from readerstudy.reading.state import reading_state
    from readerstudy.studies.models import Membership

    timings: dict[str, list[float]] = {"no marks": [], "3 marks": []}
    marks = [{"x": 30.5, "y": 40.25}, {"x": 120.0, "y": 99.5}, {"x": 200.75, "y": 10.0}]
    memberships = Membership.objects.filter(study__slug="bench").order_by("number")
    StudyProtocol.objects.update_or_create(study=memberships.first().study,
                                           defaults={"marks_mode": "fake", "max_marks": 3})
    for membership in memberships:
        reader = reader_for(membership.user, "bench")
        state = reading_state(reader.membership, reader.protocol)
        unread = [slot for slot in state.sequence if not state.is_answered(slot)][:16]
        for index, slot in enumerate(unread):
            arm = "3 marks" if index % 2 else "no marks"
            started = time.perf_counter()
            votes.answer_cast(membership=reader.membership, protocol=reader.protocol, shown_id=slot.case_public_id,
                              answer="fake", marks=marks if arm == "3 marks" else None)
            timings[arm].append((time.perf_counter() - started) * 1000)
    for arm, values in timings.items():
        values.sort()
        print(f"{arm:>9}: {len(values)} votes, median {statistics.median(values):.2f} ms, "
              f"p99 {values[int(0.99 * (len(values) - 1))]:.2f} ms")
    difference = statistics.median(timings["3 marks"]) - statistics.median(timings["no marks"])
    print(f"median difference: {difference:+.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
