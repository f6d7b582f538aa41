"""Soak: 50 readers through gunicorn on PostgreSQL (bench/load_readers.py), then the same with PostgreSQL restarted
in the middle of voting. The script checks the database itself and exits non-zero on any broken promise."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.soak


def run_load(*extra: str) -> subprocess.CompletedProcess:
    votes = os.environ.get("SOAK_VOTES", "120")
    result = subprocess.run([sys.executable, "bench/load_readers.py", "--votes", votes, "--duration", "480", *extra],
                            cwd=ROOT, capture_output=True, text=True, timeout=590)
    print(result.stdout[-3000:])
    return result


def test_fifty_readers_vote_once_each_with_retries_and_no_5xx():
    result = run_load()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None, reason="needs Debian's pg_ctlcluster (root)")
def test_a_postgres_restart_during_voting_loses_no_vote_and_the_app_recovers():
    result = run_load("--restart-postgres-after", "8")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "PostgreSQL restart: rc 0" in result.stdout and "app answering afterwards: True" in result.stdout
