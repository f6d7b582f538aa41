"""The probe's slow-body attack: 8 connections each send a login POST's headers and then trickle its body a byte a
second, while a reader asks for its next image. Run against gunicorn alone (the control: with 8 threads, as the
probe's deployment had, every thread waits on a body and the reader times out) and through nginx
(deploy/nginx.conf: nginx holds the bodies, gunicorn never sees them, the reader is answered at once).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/slow_body .venv/bin/python bench/slow_body.py \
        --port 8175 --nginx-port 8176

Exits non-zero when the reader stalls through nginx (or when the control does not stall: the attack did not bite).
"""
from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import sys
import threading
import time

from bench_reading import ROOT, build_world, recreate_database, server_env, start_server
from front import start_nginx

ATTACK_CONNECTIONS = 8
BODY_BYTES = 60_000  # under the anonymous body limit (64 KiB): the app must read it, so a thread waits on it


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8175, help="gunicorn")
    parser.add_argument("--nginx-port", type=int, default=8176)
    # One worker of 8 threads: 8 threads in all, as the probe found them. With two workers of four, the connections
    # spread unevenly (a gthread worker accepts more connections than it has threads) and the attack needs more.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each attack lasts")
    parser.add_argument("--reader-timeout", type=float, default=3.0)
    return parser.parse_args()


def slow_bodies(port: int, stop: threading.Event) -> list[socket.socket]:
    """Open the attack's connections and keep trickling their bodies until ``stop`` is set."""
    head = (f"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {BODY_BYTES}\r\n\r\n").encode()
    sockets = []
    for _ in range(ATTACK_CONNECTIONS):
        attacker = socket.create_connection(("127.0.0.1", port), timeout=5)
        attacker.sendall(head + b"u")
        sockets.append(attacker)

    def trickle() -> None:
        while not stop.wait(1.0):
            for attacker in sockets:
                try:
                    attacker.sendall(b"x")
                except OSError:
                    pass  # nginx cut it off: fine

    threading.Thread(target=trickle, daemon=True).start()
    return sockets


def reader_waits(port: int, token: str, seconds: float, timeout: float) -> list[float | None]:
    """A reader asking for its next image once a second: seconds waited, None for a request that timed out."""
    waits: list[float | None] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("GET", "/api/studies/bench/next/", headers={"Authorization": f"Token {token}"})
            response = connection.getresponse()
            response.read()
            waits.append(time.perf_counter() - started if response.status == 200 else None)
        except OSError:
            waits.append(None)
        finally:
            connection.close()
        time.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))
    return waits


def under_attack(target_port: int, token: str, args) -> list[float | None]:
    stop = threading.Event()
    sockets = slow_bodies(target_port, stop)
    try:
        time.sleep(1.0)  # let the attack settle in
        return reader_waits(target_port, token, args.seconds, args.reader_timeout)
    finally:
        stop.set()
        for attacker in sockets:
            attacker.close()


def summary(label: str, waits: list[float | None]) -> tuple[int, int]:
    answered = [wait for wait in waits if wait is not None]
    worst = f"{max(answered) * 1000:.0f} ms" if answered else "-"
    print(f"{label}: {len(answered)} of {len(waits)} reader requests answered (slowest {worst}), "
          f"{len(waits) - len(answered)} timed out after {args.reader_timeout:.0f} s", flush=True)
    return len(answered), len(waits)


if __name__ == "__main__":
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/slow_body")
    env = server_env(database_url, ROOT / "var" / "slow_body_media")
    recreate_database(database_url)
    token = build_world(env, readers=1, cases=12)[0].token
    gunicorn = start_server(env, args, ROOT / "var" / "slow_body_access.log")
    nginx = None
    try:
        nginx = start_nginx(listen_port=args.nginx_port, upstream_port=args.port,
                            runtime_dir=ROOT / "var" / "slow_body_nginx", static_root=ROOT / "static")
        print(f"{ATTACK_CONNECTIONS} slow-body connections, gunicorn {args.workers} workers x {args.threads} threads",
              flush=True)
        direct_ok, direct_all = summary("gunicorn alone", under_attack(args.port, token, args))
        front_ok, front_all = summary("through nginx", under_attack(args.nginx_port, token, args))
    finally:
        for process in (nginx, gunicorn):
            if process is not None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
    bit = direct_ok < direct_all / 2
    held = front_ok == front_all
    print(f"attack stalls gunicorn alone: {bit}; readers answered through nginx: {held}")
    sys.exit(0 if bit and held else 1)
