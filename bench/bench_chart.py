"""Benchmark the results chart of a study of 300 readers x 600 cases (6 findings x 4 sources x 25; 180,000 votes):
the reader chart (page 1), the headline chart and the results page, cold (nothing cached) and warm (served from the
cache until the next vote), wall clock and this process's CPU time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_chart .venv/bin/python bench/bench_chart.py [--profile]

The database is created if missing, migrated and filled once (``--refill`` rebuilds it). Each request goes through
Django's test client as the study admin. ``--profile`` prints cProfile's top functions of one cold chart request.
Target (issue 17): the chart with hundreds of readers under 2 s, cold.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT", Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(Path(__file__).resolve().parent))
from benchdb import ensure_database, fresh_study, grid_cases, study_already_filled  # noqa: E402 (bench/ is on the path when a benchmark runs as a script)

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_chart")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")

STUDY_SLUG = "bench-chart"
READERS = 300
CASES_PER_CELL = 25
SEED = 17
REPEATS = 3


def fill(refill: bool) -> None:
    """One study, 600 cases (6 findings x 4 sources x 25), 300 readers who vote on every case (written with COPY)."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from readerstudy.reading.models import Vote
    from readerstudy.studies.models import Finding, Source, StudyAdministrator

    call_command("migrate", verbosity=0)
    findings, sources = list(Finding.objects.order_by("order")[:6]), list(Source.objects.order_by("-is_real", "order"))
    expected = READERS * CASES_PER_CELL * len(findings) * len(sources)
    if not refill and study_already_filled(STUDY_SLUG, expected):
        return
    started = time.perf_counter()
    with transaction.atomic():
        get_user_model().objects.filter(username="bench-chart-admin").delete()
        study, memberships = fresh_study(STUDY_SLUG, "Benchmark: 300 readers x 600 cases", findings=findings,
                                         sources=sources, reader_prefix="bench-chart-reader-", readers=READERS)
        cases = grid_cases(study, findings, sources, CASES_PER_CELL)
        rng = np.random.default_rng(SEED)
        is_real = np.array([case.source.is_real for case in cases])
        source_order = np.array([sources.index(case.source) for case in cases])
        p_real = np.where(is_real, 0.85, 0.1 + 0.2 * source_order) + rng.normal(0, 0.1, len(cases))
        stamp = timezone.now().isoformat()
        buffer = io.StringIO()
        for membership in memberships:
            called_real = rng.random(len(cases)) < np.clip(p_real + rng.normal(0, 0.08), 0.02, 0.98)
            confidence = rng.integers(1, 6, len(cases))
            time_ms = rng.lognormal(8, 0.5, len(cases)).astype(int)
            for position, (case, real, conf, ms) in enumerate(zip(cases, called_real, confidence, time_ms,
                                                                  strict=True), start=1):
                answer = "real" if real else "fake"
                buffer.write(f"{membership.pk}\t{case.pk}\t{answer}\t{conf}\t{ms}\t{position}\t{stamp}\t{stamp}\n")
        buffer.seek(0)
        columns = ", ".join(Vote._meta.get_field(name).column for name in (
            "membership", "case", "answer", "confidence", "time_ms", "position", "created_at", "updated_at"))
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY {Vote._meta.db_table} ({columns}) FROM STDIN", buffer)
        admin = get_user_model().objects.create_user("bench-chart-admin", password="bench-admin-pass", is_staff=True)
        StudyAdministrator.objects.create(study=study, user=admin)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Vote._meta.db_table}")
    print(f"filled {expected:,} votes in {time.perf_counter() - started:.1f} s")


def timed(client, url: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one request, its body read."""
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert response.status_code == 200 and body, (url, response.status_code)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refill", action="store_true", help="rebuild the study even if it is there")
    parser.add_argument("--fill-only", action="store_true", help="fill the database and stop")
    parser.add_argument("--profile", action="store_true", help="profile one cold chart request")
    parser.add_argument("--label", default=str(ROOT), help="a name for this code in the output")
    args = parser.parse_args()

    import django

    django.setup()
    ensure_database()
    fill(args.refill)
    if args.fill_only:
        return

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-chart-admin"))
    urls = {
        "reader chart": f"/studies/{STUDY_SLUG}/results/chart.png",
        "headline chart": f"/studies/{STUDY_SLUG}/results/headline.png",
        "results page": f"/studies/{STUDY_SLUG}/results/",
    }
    timed(client, urls["reader chart"])  # imports, fonts and the first figure's set-up out of the cold figures
    if args.profile:
        import cProfile
        import pstats

        cache.clear()
        profiler = cProfile.Profile()
        profiler.runcall(timed, client, urls["reader chart"])
        pstats.Stats(profiler).sort_stats("cumulative").print_stats("readerstudy", 25)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return
    print(f"[{args.label}] {'request':<15} {'cold wall':>10} {'cold CPU':>9} {'warm wall':>10} {'warm CPU':>9}"
          f"   (median of {REPEATS}; load {os.getloadavg()[0]:.2f})")
    for name, url in urls.items():
        cold, warm = [], []
        for _ in range(REPEATS):
            cache.clear()
            cold.append(timed(client, url))
            warm.append(timed(client, url))
        median = lambda pairs, i: statistics.median(pair[i] for pair in pairs)  # noqa: E731
        print(f"[{args.label}] {name:<15} {median(cold, 0):>9.2f}s {median(cold, 1):>8.2f}s "
              f"{median(warm, 0):>9.3f}s {median(warm, 1):>8.3f}s")


if __name__ == "__main__":
    main()
