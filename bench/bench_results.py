"""Benchmark the results over a million votes on PostgreSQL: Table 1, the statistics and the full CSV export.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_results .venv/bin/python bench/bench_results.py

The database is created if missing, migrated, and filled once with a study of 20,000 cases read by 50 readers
(1,000,000 votes, written with COPY); later runs reuse it (``--refill`` rebuilds it). Each measured step runs in a
fresh child process so that its peak memory (ru_maxrss, and tracemalloc's peak of Python allocations) is its own.
Targets (issue 4): Table 1 < 1 s, statistics < 3 s, export streaming with peak memory < 150 MB.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchdb import ensure_database, fresh_study, study_already_filled  # noqa: E402 (bench/ is on the path)

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_results")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")

STUDY_SLUG = "bench-1m"
READERS = 50
CASES = 20_000
SEED = 7
STEPS = ("table1", "statistics", "export")
TARGETS = {"table1": "time < 1 s", "statistics": "time < 3 s", "export": "peak memory < 150 MB"}


def fill(refill: bool) -> None:
    """One study, 20,000 cases (6 findings x 4 sources), 50 readers who each vote on every case."""
    import numpy as np
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from readerstudy.reading.models import Vote
    from readerstudy.studies.models import Case, Finding, Source

    call_command("migrate", verbosity=0)
    if not refill and study_already_filled(STUDY_SLUG, READERS * CASES):
        return
    started = time.perf_counter()
    with transaction.atomic():
        findings = list(Finding.objects.all())
        sources = list(Source.objects.all())
        study, memberships = fresh_study(STUDY_SLUG, "Benchmark: a million votes", findings=findings,
                                         sources=sources, reader_prefix="bench-reader-", readers=READERS)

        rng = np.random.default_rng(SEED)
        now = timezone.now()
        cases = [
            Case(study=study, image="cases/bench.png", pixel_sha256=f"{index:064x}",
                 finding=findings[index % len(findings)], source=sources[(index // len(findings)) % len(sources)])
            for index in range(CASES)
        ]
        Case.objects.bulk_create(cases, batch_size=5000)
        case_rows = list(Case.objects.filter(study=study).order_by("pk").values_list("pk", "source__is_real",
                                                                                       "source__order"))

        case_ids = np.array([row[0] for row in case_rows])
        is_real = np.array([row[1] for row in case_rows])
        source_order = np.array([row[2] for row in case_rows])
        # A generator's images fool readers more as the generator gets better (its order in the study).
        p_called_real = np.where(is_real, 0.9, 0.15 + 0.15 * source_order)
        buffer = io.StringIO()
        stamp = now.isoformat()
        for membership in memberships:
            skill = rng.normal(0.0, 0.05)
            order = rng.permutation(CASES)
            called_real = rng.random(CASES) < np.clip(p_called_real - skill * np.where(is_real, -1, 1), 0.01, 0.99)
            confidence = rng.integers(1, 6, CASES)
            time_ms = np.minimum(rng.lognormal(8.0, 0.6, CASES).astype(int), 3_600_000)
            position = np.empty(CASES, dtype=int)
            position[order] = np.arange(1, CASES + 1)
            answers = np.where(called_real, "real", "fake")
            for case_id, answer, conf, ms, pos in zip(case_ids, answers, confidence, time_ms, position, strict=True):
                buffer.write(f"{membership.pk}\t{case_id}\t{answer}\t{conf}\t{ms}\t{pos}\t{stamp}\t{stamp}\n")
        buffer.seek(0)
        columns = ", ".join(
            Vote._meta.get_field(name).column
            for name in ("membership", "case", "answer", "confidence", "time_ms", "position", "created_at",
                         "updated_at")
        )
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY {Vote._meta.db_table} ({columns}) FROM STDIN", buffer)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Vote._meta.db_table}")
        cursor.execute(f"ANALYZE {Case._meta.db_table}")
    print(f"filled {READERS * CASES:,} votes in {time.perf_counter() - started:.1f} s")


def _current_rss_mb() -> float:
    """Resident memory now (Linux /proc), to tell the step's own peak from what imports already hold."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_step(step: str, traced: bool) -> dict:
    """Time one step in this (fresh) process and report its peak memory: ru_maxrss against the resident memory just
    before the step (imports and Django already loaded), and with ``traced`` tracemalloc's peak of Python allocations
    (which slows the step, so the time is then not the figure to quote)."""
    from readerstudy.results import charts, export, selectors, services  # noqa: F401  (imports before the baseline)
    from readerstudy.studies.models import Study

    study = Study.objects.get(slug=STUDY_SLUG)
    baseline_mb = _current_rss_mb()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    if step == "table1":
        table = services.build_table1(study)
        detail = f"{len(table.rows)} rows x {len(table.sources)} sources x {len(table.readers)} readers"
    elif step == "statistics":
        report = services.build_statistics(study)
        detail = f"{report['n_votes']:,} votes, agreement {report['agreement']['overall']['method']}"
    else:
        rows = 0
        size = 0
        for chunk in export.stream_csv(selectors.votes_for_export(study)):
            rows += chunk.count("\n")
            size += len(chunk)
        detail = f"{rows - 1:,} rows, {size / 1e6:.1f} MB of CSV"
    elapsed = time.perf_counter() - started
    traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step": step, "seconds": elapsed, "baseline_rss_mb": baseline_mb, "max_rss_mb": max_rss_mb,
            "step_peak_mb": max_rss_mb - baseline_mb, "traced_peak_mb": traced_peak_mb, "detail": detail}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refill", action="store_true", help="rebuild the study even if it is there")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help="also run each step under tracemalloc (slower)")
    args = parser.parse_args()

    import django

    django.setup()
    if args.step:
        print(json.dumps(run_step(args.step, args.traced)))
        return
    ensure_database()
    fill(args.refill)
    print(f"{'step':<11} {'time':>8} {'RSS before':>11} {'peak RSS':>9} {'step peak':>10} {'py peak':>8}  "
          "target; detail")
    for step in STEPS:
        command = [sys.executable, __file__, "--step", step]
        result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        traced = "-"
        if args.traced:
            run = subprocess.run([*command, "--traced"], capture_output=True, text=True, check=True)
            traced = f"{json.loads(run.stdout.splitlines()[-1])['traced_peak_mb']:.1f}MB"
        print(f"{step:<11} {result['seconds']:>7.2f}s {result['baseline_rss_mb']:>9.0f}MB "
              f"{result['max_rss_mb']:>7.0f}MB {result['step_peak_mb']:>8.0f}MB {traced:>8}  "
              f"{TARGETS[step]}; {result['detail']}")


if __name__ == "__main__":
    main()
