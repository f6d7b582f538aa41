"""Benchmark the case gallery's first page for a 600-case study (6 findings x 4 sources x 25), thumbnails cached.

    .venv/bin/python bench/bench_gallery.py                       # SQLite in a temporary folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_gallery .venv/bin/python bench/bench_gallery.py

Server time is measured in-process through Django's test client (the whole request: middleware, session, the four
gallery queries, the template), so it excludes the network and the browser. The study is filled once per database
with the demo's chest images; the first page's 144 thumbnails are requested once to fill the cache, then the page
and the thumbnails are timed. Target (issue 18): the gallery's first page under 300 ms with thumbnails cached.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchdb import ensure_database  # noqa: E402

WORKDIR = Path(tempfile.mkdtemp(prefix="bench-gallery-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORKDIR / 'db.sqlite3'}")
os.environ.setdefault("MEDIA_ROOT", str(ROOT / "var" / "bench-gallery-media"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
os.environ.setdefault("DEBUG", "0")

SLUG = "bench-gallery"
PER_CELL = 25
TARGET_MS = 300.0


def fill() -> None:
    from django.core.management import call_command

    from readerstudy.demo.images import chest_png
    from readerstudy.studies.models import Finding, Source, Study
    from readerstudy.studies.services import case_create_from_png

    call_command("migrate", verbosity=0)
    study = Study.objects.filter(slug=SLUG).first()
    expected = Finding.objects.count() * Source.objects.count() * PER_CELL
    if study is not None and study.cases.count() == expected:
        print(f"reusing study {SLUG!r} with {expected} cases")
        _ensure_admin(study)
        return
    if study is not None:
        study.delete()
    study = Study.objects.create(slug=SLUG, name="Gallery benchmark")
    study.findings.set(Finding.objects.all())
    study.sources.set(Source.objects.all())
    started = time.perf_counter()
    index = 0
    for finding in Finding.objects.all():
        for source in Source.objects.all():
            for _ in range(PER_CELL):
                index += 1
                case_create_from_png(study=study, finding=finding, source=source,
                                     png_bytes=chest_png(finding.slug, source.slug, index))
    print(f"filled {index} cases in {time.perf_counter() - started:.1f} s")
    _ensure_admin(study)


def _ensure_admin(study) -> None:
    """The benchmark's staff account, an admin of the study (staff see only the studies they administer)."""
    from django.contrib.auth import get_user_model

    from readerstudy.studies.models import StudyAdministrator

    user_model = get_user_model()
    admin = user_model.objects.filter(username="bench-admin").first()
    if admin is None:
        admin = user_model.objects.create_user("bench-admin", password="bench-admin-pass", is_staff=True)
    StudyAdministrator.objects.get_or_create(study=study, user=admin)


def timed(client, path: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    response = client.get(path)
    return (time.perf_counter() - started) * 1000, response.status_code, response.content


def summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"{name}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, min {ordered[0]:.1f} ms, "
            f"max {ordered[-1]:.1f} ms over {len(times)} requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed requests of the first page")
    args = parser.parse_args()

    import django

    django.setup()
    ensure_database()
    fill()
    import re

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-admin"))
    path = f"/studies/{SLUG}/cases/"
    cold_ms, status, html = timed(client, path)
    assert status == 200, status
    thumbnails = re.findall(rb'src="(/studies/[^"]+/thumb\.png)"', html)
    cold_thumbs = [timed(client, thumb.decode())[0] for thumb in thumbnails]  # fills the cache
    page = [timed(client, path)[0] for _ in range(args.repeat)]
    warm_thumbs = [timed(client, thumb.decode())[0] for thumb in thumbnails]
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
          f"{len(thumbnails)} thumbnails on the first page")
    print(f"first page, first request (cold process): {cold_ms:.1f} ms")
    print(summary("first page, thumbnails cached", page))
    print(summary("thumbnail, cold (made from the stored bytes)", cold_thumbs))
    print(summary("thumbnail, cached", warm_thumbs))
    print(f"first page + all its thumbnails, cached: {statistics.median(page) + sum(warm_thumbs):.1f} ms of server "
          f"time in all")
    met = statistics.median(page) < TARGET_MS and max(page) < TARGET_MS
    print(f"target (first page < {TARGET_MS:.0f} ms, every timed request): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
