"""Benchmark the study protocol's reading costs on PostgreSQL: deriving a balanced sequence, freezing it for a reader,
and the per-request reading state, for the paper's 600-case study with blocks of 24 and 5% repeats.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_protocol .venv/bin/python bench/bench_protocol.py

The database is created if missing and migrated; the study is rebuilt on every run. Prints median and 95th-percentile
times (ms) per step and the number of queries of one ``next`` request.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchdb import ensure_database  # noqa: E402 (bench/ is on the path when a benchmark runs as a script)

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_protocol")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")

READERS = 50
PER_CELL = 25
BLOCK = 24
REPEAT_PERCENT = 5


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    print(f"{name:<44} median {statistics.median(times):8.2f} ms   p95 {p95:8.2f} ms   (n={len(times)})")


def main() -> None:
    import django

    ensure_database()
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from readerstudy.reading import sequence as derive
    from readerstudy.reading import services
    from readerstudy.reading.models import StudyProtocol
    from readerstudy.reading.selectors import sequence_check
    from readerstudy.reading.state import reading_state
    from readerstudy.studies.models import Case, Finding, Membership, Source, Study

    call_command("migrate", verbosity=0)
    Study.objects.filter(slug="bench-protocol").delete()
    get_user_model().objects.filter(username__startswith="bench-protocol-").delete()
    study = Study.objects.create(slug="bench-protocol", name="Bench protocol", status=Study.Status.OPEN)
    cases = [Case(study=study, finding=finding, source=source, image="cases/shared.png",
                  pixel_sha256=f"{index:064x}")
             for index, (finding, source) in enumerate(
                 (f, s) for f in Finding.objects.all() for s in Source.objects.all() for _ in range(PER_CELL))]
    Case.objects.bulk_create(cases)
    StudyProtocol.objects.create(study=study, block_size=BLOCK, repeat_percent=REPEAT_PERCENT)
    users = [get_user_model().objects.create_user(f"bench-protocol-{n}") for n in range(READERS)]
    members = [Membership.objects.create(study=study, user=user, number=n + 1) for n, user in enumerate(users)]
    keys = services.case_keys(study.pk)
    print(f"study: {len(keys)} cases, blocks of {BLOCK}, {REPEAT_PERCENT}% repeats, {READERS} readers, "
          f"database {connection.vendor}")

    report("derive one reader's order (pure)", timed(lambda: derive.study_order(keys, 12345, BLOCK, REPEAT_PERCENT),
                                                     50))
    pending = iter(members)
    report("freeze one reader's sequence (derive + insert)",
           timed(lambda: services.freeze_sequence(next(pending)), READERS))
    member = members[0]
    member.study = study
    report("reading state (one next/vote's sequence read)", timed(lambda: reading_state(member), 100))
    with CaptureQueriesContext(connection) as queries:
        reading_state(member)
    print(f"queries per reading state: {len(queries.captured_queries)}")
    report("sequence check (re-derive and compare)", timed(lambda: sequence_check(member), 20))


if __name__ == "__main__":
    main()
