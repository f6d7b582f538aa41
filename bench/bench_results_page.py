"""Benchmark the results page of a study of 50 readers x 600 cases (6 findings x 4 sources x 25, confidence asked):
the page, the statistics API, the Markdown report and the headline chart, cold (the analysis computed) and warm (served
from the cache until the next vote).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_results_page .venv/bin/python bench/bench_results_page.py
        [--readers 300] [--baseline REV]

``--readers`` sets the study's readers (50 by default; issue 26 asks for 300 readers x 600 cases computed afresh in
under 1 s). ``--baseline REV`` first measures the cold requests with the code of git revision REV (exported to a
temporary directory, run against the same database), then with this tree: before and after in one run. Each is
measured twice: in the process as loaded, then frozen as gunicorn.conf.py's ``post_worker_init`` freezes every worker
(views imported, ``gc.freeze()``: a full garbage collection over the loaded libraries' ~240,000 objects costs
~0.1 s, which a served request does not pay). CPU time is what to compare: the machine's load inflates the wall time.

The database is created if missing, migrated and filled once (``--refill`` rebuilds it). Each request goes through
Django's test client as the study admin, so the time is the server's whole answer (auth, queries, analysis,
template). Target (issue 15): the results page under 1 s with the analysis cached until the next vote.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchdb import ensure_database, fresh_study, grid_cases, study_already_filled  # noqa: E402 (bench/ is on the path)

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_results_page")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")

STUDY_SLUG = "bench-page"
READERS = 50  # --readers changes it (and the study's slug)
CASES_PER_CELL = 25
SEED = 15
REPEATS = 3


def fill(refill: bool, readers: int = READERS) -> None:
    """One study, 600 cases (every finding x source, 25 each), 50 readers who vote on every case with confidence."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    from readerstudy.reading.models import Vote
    from readerstudy.studies.models import Finding, Source, StudyAdministrator

    call_command("migrate", verbosity=0)
    findings, sources = list(Finding.objects.order_by("order")[:6]), list(Source.objects.order_by("-is_real", "order"))
    if not refill and study_already_filled(STUDY_SLUG, readers * CASES_PER_CELL * len(findings) * len(sources)):
        return
    started = time.perf_counter()
    with transaction.atomic():
        # each study its own readers (``fresh_study`` deletes every user of the prefix), one admin for all of them
        prefix = f"bench-page-{readers}-reader-"
        study, memberships = fresh_study(STUDY_SLUG, f"Benchmark: {readers} readers x 600 cases", findings=findings,
                                         sources=sources, reader_prefix=prefix, readers=readers)
        cases = grid_cases(study, findings, sources, CASES_PER_CELL)
        rng = np.random.default_rng(SEED)
        passes = {source.pk: 0.85 if source.is_real else 0.1 + 0.2 * index for index, source in enumerate(sources)}
        case_effect = rng.normal(0, 0.1, len(cases))
        votes = []
        for membership in memberships:
            bias = rng.normal(0, 0.08)
            for position, (case, effect) in enumerate(zip(cases, case_effect, strict=True), start=1):
                called_real = rng.random() < np.clip(passes[case.source_id] + bias + effect, 0.02, 0.98)
                votes.append(Vote(membership=membership, case=case, answer="real" if called_real else "fake",
                                  confidence=int(rng.integers(1, 6)), time_ms=int(rng.lognormal(8, 0.5)),
                                  position=position))
        Vote.objects.bulk_create(votes, batch_size=5000)
        admin = get_user_model().objects.filter(username="bench-page-admin").first()
        if admin is None:
            admin = get_user_model().objects.create_user("bench-page-admin", password="bench-admin-pass",
                                                         is_staff=True)
        StudyAdministrator.objects.create(study=study, user=admin)  # staff see only the studies they administer
    print(f"filled {len(votes):,} votes in {time.perf_counter() - started:.1f} s")


def timed(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and body, (url, response.status_code)
    return elapsed


COLD = """
import gc, os, statistics, sys, time
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import get_resolver
setup_test_environment()
client = Client()
client.force_login(get_user_model().objects.get(username="bench-page-admin"))
slug = os.environ["BENCH_SLUG"]
urls = (("results page", f"/studies/{slug}/results/"), ("statistics API", f"/api/studies/{slug}/statistics/"))
for name, url in urls:  # once each, untimed: the first request imports the numerical libraries and compiles templates
    cache.clear()
    client.get(url)
for worker in ("as loaded", "frozen"):
    if worker == "frozen":  # what gunicorn.conf.py's post_worker_init does to every worker before its first request
        get_resolver().url_patterns
        gc.collect()
        gc.freeze()
    for name, url in urls:
        times, cpu = [], []
        for _ in range(int(os.environ.get("BENCH_REPEATS", "3"))):
            cache.clear()
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            body = response.content
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            assert response.status_code == 200 and body, (url, response.status_code)
        print(f"{os.environ['BENCH_LABEL']:<7} {name:<15} {worker:<10} cold {statistics.median(times):.3f} s "
              f"(min {min(times):.3f}); this process's CPU {statistics.median(cpu):.3f} s (min {min(cpu):.3f})")
"""


def baseline(revision: str, slug: str) -> None:
    """The cold requests with the code of ``revision`` (git archive into a temporary directory), same database."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)
        env = {**os.environ, "BENCH_SLUG": slug, "BENCH_LABEL": "before", "PYTHONPATH": directory}
        subprocess.run([sys.executable, "-c", COLD], cwd=directory, env=env, check=True)


def main() -> None:
    global STUDY_SLUG
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refill", action="store_true", help="rebuild the study even if it is there")
    parser.add_argument("--readers", type=int, default=READERS, help="readers in the study (default 50)")
    parser.add_argument("--baseline", help="a git revision to measure first, cold, on the same database")
    args = parser.parse_args()
    if args.readers != READERS:
        STUDY_SLUG = f"bench-page-{args.readers}"

    import django

    django.setup()
    ensure_database()
    fill(args.refill, args.readers)
    if args.baseline:
        from django.db import connections

        connections.close_all()
        baseline(args.baseline, STUDY_SLUG)
        env = {**os.environ, "BENCH_SLUG": STUDY_SLUG, "BENCH_LABEL": "after", "PYTHONPATH": str(ROOT)}
        import subprocess

        subprocess.run([sys.executable, "-c", COLD], cwd=ROOT, env=env, check=True)
        return

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-page-admin"))
    urls = {
        "results page": f"/studies/{STUDY_SLUG}/results/",
        "statistics API": f"/api/studies/{STUDY_SLUG}/statistics/",
        "Markdown report": f"/api/studies/{STUDY_SLUG}/report.md",
        "headline chart": f"/studies/{STUDY_SLUG}/results/headline.png",
    }
    print(f"{'request':<17} {'cold (analysis computed)':>26} {'warm (cached)':>16}")
    page_warm = []
    for name, url in urls.items():
        cold, warm = [], []
        for _ in range(REPEATS):
            cache.clear()
            cold.append(timed(client, url))
            warm.append(timed(client, url))
        if name == "results page":
            page_warm = warm
        print(f"{name:<17} {statistics.median(cold):>24.3f} s {statistics.median(warm):>14.3f} s"
              f"   (min {min(cold):.3f} / {min(warm):.3f})")
    verdict = "met" if statistics.median(page_warm) < 1.0 else "NOT met"
    print(f"target: results page < 1 s with the analysis cached until the next vote: {verdict}")


if __name__ == "__main__":
    main()
