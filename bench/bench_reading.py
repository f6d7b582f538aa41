"""Benchmark of the reading hot path: gunicorn on PostgreSQL, 50 concurrent readers, next -> image -> vote.

Builds a fresh database with a 600-case open study and 50 readers (each with a logged-in session and an API token),
starts gunicorn with the repository's gunicorn.conf.py, drives every reader from its own thread (the threads spread
over a few client processes) and prints, per endpoint, requests/s, p50/p99 latency as the reader waits for it, the
same percentiles of the time spent inside the gunicorn worker (from its access log), and the error count. Ends by
itself (each reader stops after ``--votes`` votes or when ``--duration`` seconds have passed).

    .venv/bin/python bench/bench_reading.py                  # 50 readers, 600 cases, ~3 s per image, browser sessions
    .venv/bin/python bench/bench_reading.py --auth token     # the same through API tokens, as a script reads
    .venv/bin/python bench/bench_reading.py --think 0.5      # near saturation of a 2-core machine
    .venv/bin/python bench/bench_reading.py --marks          # the study asks for marks: a Fake answer carries 0-3

Targets on the 2-core machine: p99 under 50 ms for votes, under 20 ms for images, zero errors; the last line says
whether the run met them. The client runs on the same cores as the server, so the figures are conservative.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
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
    parser.add_argument("--think", type=float, default=3.0,
                        help="mean seconds a reader looks at an image (exponentially distributed)")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="seconds over which the readers arrive (0: all at once, the harshest start)")
    parser.add_argument("--duration", type=float, default=120.0, help="hard stop, seconds")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=8765, help="gunicorn's port")
    parser.add_argument("--nginx-port", type=int, default=0,
                        help="drive the readers through nginx (deploy/nginx.conf) on this port, in front of gunicorn")
    parser.add_argument("--auth", choices=("session", "token"), default="session",
                        help="session: as the reading page (cookie + CSRF token); token: as an API script")
    parser.add_argument("--marks", action="store_true",
                        help="the study asks for marks after a Fake answer (docs/marks.md); each Fake vote carries "
                             "0 to 3 of them")
    parser.add_argument("--client-processes", type=int, default=5,
                        help="processes the reader threads are spread over, so the client's own GIL does not "
                             "add to the latencies it measures")
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


@dataclass(frozen=True)
class Credentials:
    token: str
    session_key: str
    session_cookie: str
    csrf_cookie: str


def build_world(env: dict, readers: int, cases: int, marks: bool = False) -> list[Credentials]:
    """Migrate, then create the study, its cases and readers (each with an API token and a logged-in session) in a
    child process; returns the readers' credentials."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = f"""
import io, numpy as np, django
django.setup()
from PIL import Image
from rest_framework.authtoken.models import Token
from readerstudy.studies.models import Finding, Source
from readerstudy.reading.lifecycle import study_transition
from readerstudy.studies.services import case_create_from_png, reader_add, study_create
study = study_create(slug="bench", name="Bench study")
findings, sources = list(Finding.objects.all()), list(Source.objects.all())
rng = np.random.default_rng(0)
for index in range({cases}):
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(224, 224), dtype=np.uint8)).save(buffer, format="PNG")
    case_create_from_png(study=study, finding=findings[index % 6], source=sources[index % 4],
                         png_bytes=buffer.getvalue())
if {marks!r}:
    from readerstudy.reading.models import StudyProtocol
    StudyProtocol.objects.create(study=study, marks_mode="fake", max_marks=3)
study_transition(study, None, "open")
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
store = import_module(settings.SESSION_ENGINE).SessionStore
print(settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
for number in range({readers}):
    membership, _ = reader_add(study=study, username=f"bench{{number}}")
    session = store()  # what logging in through the login page leaves behind
    session.update({{SESSION_KEY: str(membership.user.pk), HASH_SESSION_KEY: membership.user.get_session_auth_hash(),
                    BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend"}})
    session.create()
    print(Token.objects.create(user=membership.user).key, session.session_key)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True,
                            text=True)
    lines = result.stdout.splitlines()
    session_cookie, csrf_cookie = lines[0].split()
    return [Credentials(*line.split(), session_cookie, csrf_cookie) for line in lines[1:]]


def start_server(env: dict, args: argparse.Namespace, access_log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "readerstudy.wsgi:application", "-c", str(ROOT / "gunicorn.conf.py"),
               "-b", f"127.0.0.1:{args.port}", "-w", str(args.workers), "--threads", str(args.threads),
               "--log-level", "warning", "--access-logfile", str(access_log),
               "--access-logformat", "%(U)s %(s)s %(D)s"]  # path, status, microseconds spent in the worker
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 120  # workers import every view before their first request: slow on a busy machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{args.port}/accounts/login/", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not come up within 120 s")


ENDPOINTS = ("next", "image", "votes")


@dataclass
class Reply:
    status: int
    body: bytes
    cookies: dict[str, str]


class Connection:
    """One reader's kept-alive HTTP/1.1 connection (the standard library's http.client: the lightest client, so
    that the client's own work on the shared cores disturbs the server as little as possible)."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.headers = headers

    def request(self, method: str, path: str, body: dict | None = None) -> Reply:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.http.request(method, path, body=payload, headers=headers)
            response = self.http.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.http.close()  # the next request opens a fresh connection
            raise
        cookies = {}
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        return Reply(response.status, data, cookies)


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []

    def timed(self, name: str, call, ok: tuple[int, ...]):
        """Time ``call()`` (a ``Reply`` here, an httpx response in load_readers.py); None when it failed."""
        start = time.perf_counter()
        try:
            reply = call()
        except (OSError, http.client.HTTPException, httpx.HTTPError) as exc:
            self.error(name, repr(exc))
            return None
        elapsed = time.perf_counter() - start
        with self.lock:
            self.latencies[name].append(elapsed)
        status = reply.status if isinstance(reply, Reply) else reply.status_code
        if status not in ok:
            body = reply.body if isinstance(reply, Reply) else reply.content
            self.error(name, f"{status} {body[:200]!r}")
            return None
        return reply

    def error(self, name: str, message: str) -> None:
        with self.lock:
            self.errors[name] += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(f"{name}: {message}")

    def merge(self, other: dict) -> None:
        for name, values in other["latencies"].items():
            self.latencies[name].extend(values)
        for name, count in other["errors"].items():
            self.errors[name] += count
        self.error_samples.extend(other["samples"][:5 - len(self.error_samples)])

    def as_dict(self) -> dict:
        return {"latencies": dict(self.latencies), "errors": dict(self.errors), "samples": self.error_samples}


def reader_loop(port: int, credentials: Credentials, args, recorder: Recorder, stop_at: float, seed: int) -> None:
    """One reader: with ``--auth session`` as the reading page does it (session cookie, CSRF token from the page),
    with ``--auth token`` as a script does it."""
    rng = random.Random(seed)
    headers = {"Accept": "application/json"}
    if args.auth == "token":
        headers["Authorization"] = f"Token {credentials.token}"
    if args.ramp:
        time.sleep(rng.uniform(0, args.ramp))  # readers log in at different moments, as in a real study
    connection = Connection(port, headers)
    if args.auth == "session":
        headers["Cookie"] = f"{credentials.session_cookie}={credentials.session_key}"
        page = connection.request("GET", "/studies/bench/read/")
        csrf = page.cookies.get(credentials.csrf_cookie)
        if page.status != 200 or not csrf:
            recorder.error("page", f"{page.status}: the reading page did not open with a CSRF cookie")
            return
        headers["Cookie"] += f"; {credentials.csrf_cookie}={csrf}"
        headers["X-CSRFToken"] = csrf
    for _ in range(args.votes):
        if time.monotonic() > stop_at:
            return
        reply = recorder.timed("next", lambda: connection.request("GET", "/api/studies/bench/next/"), (200, 204))
        if reply is None or reply.status == 204:
            return
        case = json.loads(reply.body)
        image = recorder.timed("image", lambda url=case["image_url"]: connection.request("GET", url), (200,))
        if image is not None and not image.body.startswith(b"\x89PNG"):
            recorder.error("image", "not a PNG")
        if args.think:
            time.sleep(rng.expovariate(1 / args.think))
        body = {"case": case["case"], "answer": rng.choice(["real", "fake"]), "time_ms": rng.randint(300, 9000)}
        if args.marks and body["answer"] == "fake":
            body["marks"] = [{"x": rng.uniform(0, 223.9), "y": rng.uniform(0, 223.9)} for _ in range(rng.randint(0, 3))]
        recorder.timed("votes", lambda vote=body: connection.request("POST", "/api/studies/bench/votes/", vote),
                       (201,))


def drive_readers(port: int, readers: list[tuple[Credentials, int]], args, stop_at: float) -> dict:
    """One client process: a thread per reader; returns what its recorder saw."""
    recorder = Recorder()
    threads = [threading.Thread(target=reader_loop, args=(port, credentials, args, recorder, stop_at, seed))
               for credentials, seed in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return recorder.as_dict()


def server_times(access_log: Path) -> dict[str, list[float]]:
    """Seconds each request spent inside gunicorn's worker, by endpoint, from the access log."""
    times: dict[str, list[float]] = defaultdict(list)
    for line in access_log.read_text().splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        path, _status, micros = parts
        name = "image" if path.startswith("/i/") else "votes" if path.endswith("/votes/") else (
            "next" if path.endswith("/next/") else None)
        if name:
            times[name].append(int(micros) / 1e6)
    return times


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
    readers = build_world(env, args.readers, args.cases, args.marks)
    access_log = media_root.parent / "bench_reading_access.log"
    access_log.unlink(missing_ok=True)
    server = start_server(env, args, access_log)
    front = None
    reader_port = args.port
    try:
        if args.nginx_port:
            from front import start_nginx  # bench/front.py, next to this file

            front = start_nginx(listen_port=args.nginx_port, upstream_port=args.port,
                                runtime_dir=media_root.parent / "bench_nginx", static_root=ROOT / "static")
            reader_port = args.nginx_port
        recorder = Recorder()
        stop_at = time.monotonic() + args.duration
        processes = max(1, min(args.client_processes, len(readers)))
        shares = [[(reader, index) for index, reader in enumerate(readers) if index % processes == share]
                  for share in range(processes)]
        print(f"Driving {len(readers)} readers ({args.auth} auth{', marks on' if args.marks else ''}) from "
              f"{processes} client processes ({args.votes} "
              f"votes each, think {args.think} s, gunicorn {args.workers} workers x {args.threads} threads"
              f"{', through nginx' if front else ''}) ...", flush=True)
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork")) as pool:
            for seen in pool.map(drive_readers, [reader_port] * processes, shares, [args] * processes,
                                 [stop_at] * processes):
                recorder.merge(seen)
        wall = time.perf_counter() - started
    finally:
        if front is not None:
            os.killpg(front.pid, signal.SIGTERM)
            front.wait(timeout=30)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    total = sum(len(v) for v in recorder.latencies.values())
    inside = server_times(access_log)
    print(f"\nwall {wall:.1f} s, {total} requests, {total / wall:.0f} req/s overall")
    print("client side (what a reader waits for) | server side (inside the gunicorn worker)")
    print(f"{'endpoint':<8} {'requests':>9} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'errors':>7}"
          f" | {'p50 ms':>8} {'p99 ms':>8}")
    for name in ENDPOINTS:
        values = recorder.latencies.get(name, [])
        if not values:
            print(f"{name:<8} {'-':>9}")
            continue
        server_side = inside.get(name) or [float("nan")]
        print(f"{name:<8} {len(values):>9} {len(values) / wall:>7.0f} {percentile(values, .5) * 1000:>8.1f} "
              f"{percentile(values, .99) * 1000:>8.1f} {statistics.fmean(values) * 1000:>8.1f} "
              f"{recorder.errors.get(name, 0):>7} | {percentile(server_side, .5) * 1000:>8.1f} "
              f"{percentile(server_side, .99) * 1000:>8.1f}")
    errors = sum(recorder.errors.values())
    print(f"errors: {errors}")
    for sample in recorder.error_samples:
        print("  " + sample)
    print(target_verdict(recorder.latencies, errors))
    return 1 if errors else 0


TARGET_P99_MS = {"votes": 50.0, "image": 20.0}  # the target on the 2-core machine, as the reader waits


def target_verdict(latencies: dict[str, list[float]], errors: int) -> str:
    """One line saying whether this run met the target: p99 under 50 ms for votes, under 20 ms for images, 0 errors."""
    parts, met = [], errors == 0
    for name, limit in TARGET_P99_MS.items():
        values = latencies.get(name)
        if not values:
            parts.append(f"{name} p99 -")
            met = False
            continue
        p99 = percentile(values, .99) * 1000
        met = met and p99 < limit
        parts.append(f"{name} p99 {p99:.1f} ms (< {limit:.0f})")
    return f"target {'met' if met else 'NOT met'}: " + ", ".join(parts) + f", errors {errors} (0)"


if __name__ == "__main__":
    sys.exit(main())
