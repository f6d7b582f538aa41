"""Benchmark of the reading hot path: gunicorn on PostgreSQL, 50 concurrent readers, next -> image -> vote.

Builds a fresh database with a 600-case open study and 50 readers (API tokens), starts gunicorn, drives every reader
from its own thread with httpx (token auth) and prints, per endpoint, requests/s and p50/p99 latency, and the error
count. Ends by itself (each reader stops after ``--votes`` votes or when ``--duration`` seconds have passed).

    .venv/bin/python bench/bench_reading.py                  # defaults: 50 readers, 600 cases, think 0.5 s
    .venv/bin/python bench/bench_reading.py --think 0        # saturation: readers click as fast as the server answers

Targets on the 2-core machine: p99 under 50 ms for votes, under 20 ms for images, zero errors. The client threads
run on the same cores as the server, so the figures are conservative.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_reading"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--votes", type=int, default=40, help="votes per reader before it stops")
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds a reader looks at an image")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="seconds over which the readers arrive (0: all at once, the harshest start)")
    parser.add_argument("--duration", type=float, default=120.0, help="hard stop, seconds")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=8765)
    return parser.parse_args()


def recreate_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                             password=parsed.password, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def server_env(database_url: str, media_root: Path) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "readerstudy.settings",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "ERROR",
    }


def build_world(env: dict, readers: int, cases: int) -> list[str]:
    """Migrate, then create the study, its cases and readers in a child process; returns the readers' tokens."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = f"""
import io, numpy as np, django
django.setup()
from PIL import Image
from rest_framework.authtoken.models import Token
from readerstudy.studies.models import Finding, Source
from readerstudy.studies.services import case_create_from_png, reader_add, study_create, study_open
study = study_create(slug="bench", name="Bench study")
findings, sources = list(Finding.objects.all()), list(Source.objects.all())
rng = np.random.default_rng(0)
for index in range({cases}):
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(224, 224), dtype=np.uint8)).save(buffer, format="PNG")
    case_create_from_png(study=study, finding=findings[index % 6], source=sources[index % 4],
                         png_bytes=buffer.getvalue())
study_open(study)
for number in range({readers}):
    membership, _ = reader_add(study=study, username=f"bench{{number}}")
    print(Token.objects.create(user=membership.user).key)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True,
                            text=True)
    return result.stdout.split()


def start_server(env: dict, args: argparse.Namespace) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "readerstudy.wsgi:application", "-b", f"127.0.0.1:{args.port}",
               "-w", str(args.workers), "-k", "gthread", "--threads", str(args.threads), "--log-level", "warning",
               "--keep-alive", "75"]  # longer than any think time: a reused idle connection is never reset
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{args.port}/accounts/login/", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not come up within 30 s")


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []

    def timed(self, name: str, call, ok: tuple[int, ...]):
        start = time.perf_counter()
        try:
            response = call()
        except httpx.HTTPError as exc:
            self._error(name, repr(exc))
            return None
        elapsed = time.perf_counter() - start
        with self.lock:
            self.latencies[name].append(elapsed)
        if response.status_code not in ok:
            self._error(name, f"{response.status_code} {response.text[:200]}")
            return None
        return response

    def _error(self, name: str, message: str) -> None:
        with self.lock:
            self.errors[name] += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(f"{name}: {message}")


def reader_loop(base: str, token: str, args, recorder: Recorder, stop_at: float, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    if args.ramp:
        time.sleep(rng.uniform(0, args.ramp))  # readers log in at different moments, as in a real study
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for _ in range(args.votes):
            if time.monotonic() > stop_at:
                return
            response = recorder.timed("next", lambda: client.get("/api/studies/bench/next/"), (200, 204))
            if response is None or response.status_code == 204:
                return
            case = response.json()
            image = recorder.timed("image", lambda url=case["image_url"]: client.get(url), (200,))
            if image is not None and not image.content.startswith(b"\x89PNG"):
                recorder._error("image", "not a PNG")
            if args.think:
                time.sleep(rng.expovariate(1 / args.think))
            body = {"case": case["case"], "answer": rng.choice(["real", "fake"]), "time_ms": rng.randint(300, 9000)}
            recorder.timed("votes", lambda vote=body: client.post("/api/studies/bench/votes/", json=vote), (201,))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith("postgres"):
        sys.exit("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")
    media_root = ROOT / "var" / "bench_media"
    env = server_env(database_url, media_root)
    print(f"Preparing {database_url}: {args.cases} cases, {args.readers} readers ...", flush=True)
    recreate_database(database_url)
    tokens = build_world(env, args.readers, args.cases)
    server = start_server(env, args)
    try:
        recorder = Recorder()
        base = f"http://127.0.0.1:{args.port}"
        stop_at = time.monotonic() + args.duration
        threads = [threading.Thread(target=reader_loop, args=(base, token, args, recorder, stop_at, index))
                   for index, token in enumerate(tokens)]
        print(f"Driving {len(threads)} readers ({args.votes} votes each, think {args.think} s, gunicorn "
              f"{args.workers} workers x {args.threads} threads) ...", flush=True)
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    total = sum(len(v) for v in recorder.latencies.values())
    print(f"\nwall {wall:.1f} s, {total} requests, {total / wall:.0f} req/s overall")
    print(f"{'endpoint':<8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'errors':>7}")
    for name in ("next", "image", "votes"):
        values = recorder.latencies.get(name, [])
        if not values:
            print(f"{name:<8} {'-':>9}")
            continue
        print(f"{name:<8} {len(values):>9} {len(values) / wall:>8.0f} {percentile(values, .5) * 1000:>8.1f} "
              f"{percentile(values, .99) * 1000:>8.1f} {statistics.fmean(values) * 1000:>8.1f} "
              f"{recorder.errors.get(name, 0):>7}")
    errors = sum(recorder.errors.values())
    print(f"errors: {errors}")
    for sample in recorder.error_samples:
        print("  " + sample)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
