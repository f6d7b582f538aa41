"""Soak: the zip ingest fuzz target for longer (SOAK_FUZZ_SECONDS, default 300 s)."""
from __future__ import annotations

import os

import pytest

from tests.security.test_fuzz_zip_ingest import executions, run_fuzzer

pytestmark = pytest.mark.soak


def test_the_zip_ingest_survives_a_long_fuzz_run(tmp_path):
    seconds = int(os.environ.get("SOAK_FUZZ_SECONDS", "300"))
    code, log = run_fuzzer(seconds, tmp_path)
    assert code == 0 and not list(tmp_path.glob("crash-*")), log[-3000:]
    print(f"\nzip ingest fuzz (soak): {executions(log)} executions in {seconds} s")
