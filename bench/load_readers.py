"""Load and fault soak of reading: gunicorn (several workers) on PostgreSQL, 50 concurrent readers reading a 600-image
study through next -> image -> vote, 10% of votes re-sent as a client retry would; optionally PostgreSQL restarted
in the middle (``--restart-postgres-after S``). Ends by itself, then checks the database: exactly one vote per reader
per case, every acknowledged vote present with its answer, no 5xx. Prints throughput and p50/p99 per endpoint.

    .venv/bin/python bench/load_readers.py                         # 50 readers, 600 cases, 60 votes each
    .venv/bin/python bench/load_readers.py --restart-postgres-after 10

Reuses bench/bench_reading.py (database, world, server, recorder). A vote that fails on the network or with a 5xx
while PostgreSQL is down is retried until it is stored, as static/js/reader.js does; 5xx are only tolerated inside
the restart window and are reported.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_reading  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/load_readers"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--votes", type=int, default=60, help="votes per reader before it stops (600 = whole study)")
    parser.add_argument("--resend", type=float, default=0.10, help="share of votes sent twice")
    parser.add_argument("--think", type=float, default=0.0)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--restart-postgres-after", type=float, default=None, metavar="S")
    return parser.parse_args(argv)


class Ledger:
    """Acknowledged votes (reader, case) -> answer, and 5xx answers with when they came."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged: dict[tuple[int, str], str] = {}
        self.server_errors: list[tuple[float, str]] = []
        self.resent = 0

    def ack(self, reader: int, case: str, answer: str) -> None:
        with self.lock:
            self.acknowledged[(reader, case)] = answer

    def server_error(self, what: str) -> None:
        with self.lock:
            self.server_errors.append((time.monotonic(), what))


def send_until_stored(client, recorder, ledger, reader, body, deadline) -> bool:
    """POST the vote until the server answers 200/201 (a retry after an error must land once)."""
    while time.monotonic() < deadline:
        try:
            start = time.perf_counter()
            response = client.post("/api/studies/bench/votes/", json=body)
            with recorder.lock:
                recorder.latencies["votes"].append(time.perf_counter() - start)
        except httpx.HTTPError as exc:
            recorder.error("votes", repr(exc))
            time.sleep(0.2)
            continue
        if response.status_code in (200, 201):
            ledger.ack(reader, body["case"], body["answer"])
            return True
        if response.status_code >= 500:
            ledger.server_error(f"votes {response.status_code}")
        else:
            recorder.error("votes", f"{response.status_code} {response.text[:200]}")
            return False
        time.sleep(0.2)
    return False


def get_with_retry(client, recorder, ledger, name, url, ok, deadline):
    while time.monotonic() < deadline:
        response = recorder.timed(name, lambda: client.get(url), ok + (500, 502, 503))
        if response is None:
            time.sleep(0.2)
            continue
        if response.status_code >= 500:
            ledger.server_error(f"{name} {response.status_code}")
            time.sleep(0.2)
            continue
        return response
    return None


def reader_loop(base, token, reader, args, recorder, ledger, stop_at, seed) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=15) as client:
        for _ in range(args.votes):
            if time.monotonic() > stop_at:
                return
            response = get_with_retry(client, recorder, ledger, "next", "/api/studies/bench/next/", (200, 204),
                                      stop_at)
            if response is None or response.status_code == 204:
                return
            case = response.json()
            image = get_with_retry(client, recorder, ledger, "image", case["image_url"], (200,), stop_at)
            if image is not None and not image.content.startswith(b"\x89PNG"):
                recorder.error("image", "not a PNG")
            if args.think:
                time.sleep(rng.expovariate(1 / args.think))
            body = {"case": case["case"], "answer": rng.choice(["real", "fake"]), "time_ms": rng.randint(300, 9000)}
            if not send_until_stored(client, recorder, ledger, reader, body, stop_at):
                return
            if rng.random() < args.resend:  # the client did not see the answer and sends the same vote again
                with ledger.lock:
                    ledger.resent += 1
                send_until_stored(client, recorder, ledger, reader, body, stop_at)


def restart_postgres_after(seconds: float, log: list) -> threading.Thread:
    def restart():
        time.sleep(seconds)
        started = time.monotonic()
        result = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"],
                                capture_output=True, text=True)
        log.append((started, time.monotonic(), result.returncode, result.stderr.strip()))

    thread = threading.Thread(target=restart, daemon=True)
    thread.start()
    return thread


def check_database(database_url: str, tokens: list[str], ledger: Ledger) -> list[str]:
    """Problems found: duplicate votes, acknowledged votes missing or with another answer."""
    import psycopg2

    parsed = urlparse(database_url)
    connection = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                                  dbname=parsed.path.lstrip("/"))
    with connection, connection.cursor() as cursor:
        cursor.execute("""SELECT t.key, c.public_id, v.answer, count(*) OVER (PARTITION BY v.membership_id, v.case_id)
                          FROM studies_vote v JOIN studies_membership m ON m.id = v.membership_id
                          JOIN authtoken_token t ON t.user_id = m.user_id JOIN studies_case c ON c.id = v.case_id""")
        rows = cursor.fetchall()
    connection.close()
    reader_of = {token: index for index, token in enumerate(tokens)}
    stored = {(reader_of[key], case): answer for key, case, answer, _ in rows}
    problems = [f"{count} votes by one reader on case {case}" for _, case, _, count in rows if count != 1]
    for (reader, case), answer in ledger.acknowledged.items():
        if stored.get((reader, case)) != answer:
            problems.append(f"acknowledged vote of reader {reader} on {case} is {stored.get((reader, case))!r}")
    if len(stored) != len(ledger.acknowledged):
        problems.append(f"{len(stored)} votes stored, {len(ledger.acknowledged)} acknowledged")
    return problems


def main(argv=None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get("LOAD_DATABASE_URL", DEFAULT_DATABASE_URL)
    media_root = bench_reading.ROOT / "var" / "load_media"
    env = bench_reading.server_env(database_url, media_root)
    print(f"Preparing {database_url}: {args.cases} cases, {args.readers} readers ...", flush=True)
    bench_reading.recreate_database(database_url)
    tokens = [reader.token for reader in bench_reading.build_world(env, args.readers, args.cases)]
    server = bench_reading.start_server(env, args, media_root.parent / "load_readers_access.log")
    ledger, recorder, restarts = Ledger(), bench_reading.Recorder(), []
    try:
        base = f"http://127.0.0.1:{args.port}"
        stop_at = time.monotonic() + args.duration
        threads = [threading.Thread(target=reader_loop, args=(base, token, index, args, recorder, ledger, stop_at,
                                                              index)) for index, token in enumerate(tokens)]
        print(f"Driving {len(threads)} readers ({args.votes} votes each, {args.resend:.0%} re-sent, gunicorn "
              f"{args.workers} workers x {args.threads} threads) ...", flush=True)
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        if args.restart_postgres_after is not None:
            restart_postgres_after(args.restart_postgres_after, restarts)
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        after = httpx.get(f"{base}/api/studies/bench/progress/", headers={"Authorization": f"Token {tokens[0]}"})
        recovered = after.status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    total = sum(len(v) for v in recorder.latencies.values())
    print(f"\nwall {wall:.1f} s, {total} requests, {total / wall:.0f} req/s overall; "
          f"{len(ledger.acknowledged)} votes acknowledged, {ledger.resent} re-sent")
    print(f"{'endpoint':<8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'errors':>7}")
    for name in ("next", "image", "votes"):
        values = recorder.latencies.get(name, [])
        if values:
            print(f"{name:<8} {len(values):>9} {len(values) / wall:>8.0f} "
                  f"{bench_reading.percentile(values, .5) * 1000:>8.1f} "
                  f"{bench_reading.percentile(values, .99) * 1000:>8.1f} {statistics.fmean(values) * 1000:>8.1f} "
                  f"{recorder.errors.get(name, 0):>7}")
    problems = check_database(database_url, tokens, ledger)
    failures = list(problems)
    if restarts:
        begin, end, code, stderr = restarts[0]
        outside = [what for when, what in ledger.server_errors if not begin - 1 <= when <= end + 5]
        print(f"PostgreSQL restart: rc {code} in {end - begin:.1f} s; {len(ledger.server_errors)} 5xx inside the "
              f"window (retried), {len(outside)} outside; app answering afterwards: {recovered}")
        if code != 0:
            failures.append(f"pg_ctlcluster restart failed: {stderr}")
        failures += [f"5xx outside the restart window: {what}" for what in outside]
    else:
        failures += [f"5xx: {what}" for _, what in ledger.server_errors]
    if not recovered:
        failures.append("the app did not answer after the run")
    if sum(recorder.errors.values()):
        failures.append(f"client errors: {dict(recorder.errors)} e.g. {recorder.error_samples[:3]}")
    print("database check: " + ("one vote per reader per case, every acknowledged vote present"
                                if not problems else "; ".join(problems[:10])))
    for failure in failures:
        print("FAIL: " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
