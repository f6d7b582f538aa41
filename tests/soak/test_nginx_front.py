"""Soak: Debian's nginx in front of gunicorn (deploy/nginx.conf). The probe's 8-connection slow-body attack stalls
gunicorn alone and no longer stalls a reader through nginx (bench/slow_body.py), and the reading benchmark through
nginx still meets its target (bench/bench_reading.py --nginx-port: p99 votes < 50 ms, images < 20 ms, 0 errors).

Ports: SOAK_NGINX_PORT_BASE (8175: gunicorn, nginx, then the benchmark's gunicorn and nginx on the next two)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = int(os.environ.get("SOAK_NGINX_PORT_BASE", "8175"))
pytestmark = [pytest.mark.soak]


def nginx_installed() -> bool:
    sys.path.insert(0, str(ROOT / "bench"))
    from front import nginx_binary

    return nginx_binary() is not None


needs_nginx = pytest.mark.skipif(not nginx_installed(), reason="apt-get install -y nginx (.ci/run does)")


def run(script: str, *arguments: str, timeout: int) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, script, *arguments], cwd=ROOT, capture_output=True, text=True,
                            timeout=timeout)
    print(result.stdout[-3000:])
    return result


@needs_nginx
def test_eight_slow_body_connections_stall_gunicorn_alone_but_not_a_reader_behind_nginx():
    result = run("bench/slow_body.py", "--port", str(BASE), "--nginx-port", str(BASE + 1), timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "readers answered through nginx: True" in result.stdout


@needs_nginx
def test_the_reading_benchmark_through_nginx_meets_its_target():
    result = run("bench/bench_reading.py", "--port", str(BASE + 2), "--nginx-port", str(BASE + 3),
                 "--votes", os.environ.get("SOAK_BENCH_VOTES", "30"), timeout=590)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "target met" in result.stdout, result.stdout[-1500:]
