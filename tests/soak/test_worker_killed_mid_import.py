"""Soak: a real Celery worker (``celery -A readerstudy worker``) killed with SIGKILL in the middle of an import.

The message was not acknowledged (acks_late), so the broker hands it out again once the visibility timeout passes;
the import task is idempotent (a running batch found again is cleaned and restarted, a finished one left alone).
The batch must end done with every case or failed with a reason, never stuck running, and never half imported.
Needs PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL); the task time limit is lowered to 20 s so the
visibility timeout (twice the limit) passes within the test.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from readerstudy.batches.models import Batch
from readerstudy.batches.services import batch_create
from readerstudy.studies.models import Case
from tests.conftest import _set_eager
from tests.factories import make_batch_zip

ROOT = Path(__file__).resolve().parents[2]
TIME_LIMIT_S = 20
pytestmark = pytest.mark.soak


def start_worker(broker: str) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
           "CELERY_BROKER_URL": broker, "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT_S), "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "readerstudy", "worker", "-Q", "default", "-c", "1",
                             "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
                            cwd=ROOT, env=env, start_new_session=True)


def wait_for(predicate, seconds: float, step: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def test_a_worker_killed_mid_import_leaves_the_batch_done_or_failed_never_running(transactional_db, study_factory):
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker or connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...")
    from readerstudy.celery import app

    _set_eager(app, False)
    app.conf.broker_url = broker
    app.conf.broker_transport_options = {"visibility_timeout": 2 * TIME_LIMIT_S}
    study = study_factory("killed")
    cells = [("Atelectasis", "Real"), ("Effusion", "Pix2Pix"), ("Effusion", "Real"), ("Atelectasis", "StarGAN")] * 40
    worker = start_worker(broker)
    second = None
    try:
        batch = batch_create(study=study, archive_file=io.BytesIO(make_batch_zip(cells, size=512)),
                             original_name="big.zip")
        running = wait_for(lambda: Batch.objects.filter(pk=batch.pk, status="running", rows_done__gt=0).exists(), 120)
        assert running, f"the worker never started the import: {Batch.objects.filter(pk=batch.pk).values().first()}"
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        killed_at = time.monotonic()
        second = start_worker(broker)
        finished = wait_for(lambda: Batch.objects.filter(pk=batch.pk, status__in=["done", "failed"]).first(),
                            6 * TIME_LIMIT_S + 120, step=1)
        assert finished is not None, "the batch stayed running after its worker was killed"
        print(f"\nworker killed mid-import: batch ended {finished.status} {time.monotonic() - killed_at:.0f} s later "
              f"({finished.cases_created} cases) {finished.failure_reason}")
        cases = Case.objects.filter(batch=batch).count()
        if finished.status == "done":
            assert cases == len(cells) == finished.cases_created
        else:
            assert cases == 0 and finished.failure_reason
        assert finished.staged_files == []
    finally:
        for process in (worker, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=60)
        _set_eager(app, True)
