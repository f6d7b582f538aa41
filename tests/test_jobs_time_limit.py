"""The gpu queue's worker as deployed (``-P prefork -c 1 --max-tasks-per-child 1``), a real process on the real
broker: a generation job over its soft or its hard time limit is stopped, ends failed with a message, and the child
process that ran it (and so held the GPU) is gone. Needs PostgreSQL (the worker process reads the test database) and
CELERY_BROKER_URL."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from readerstudy.jobs.models import GenerationJob
from readerstudy.jobs.services import job_create
from tests.conftest import _set_eager
from tests.generation.tiny_world import make_phantom_data, make_tiny_checkpoints

pytestmark = pytest.mark.worker
REPO = Path(__file__).resolve().parents[1]
SOFT_LIMIT_S, HARD_LIMIT_S = 4, 60
KILL_AFTER_S = 8  # the hard-limit test's limit: past the job's start (imports, checkpoints), before its end


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return set()
    return {int(child) for child in text.split()}


def _wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _database_url() -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the test database on PostgreSQL (DATABASE_URL=postgres://...)")
    s = connection.settings_dict
    credentials = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{credentials}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_gpu_worker(tmp_path, monkeypatch, hard_limit_s: int, soft_limit_s: int, app_module: str = "readerstudy"):
    """``celery worker -Q gpu -P prefork -c 1 --max-tasks-per-child 1`` in its own process, short limits (on both
    sides, as in a deployment where web and worker share the settings: the sender puts the limits in the message)."""
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        pytest.skip("needs a real broker: set CELERY_BROKER_URL")
    from readerstudy.celery import app
    from readerstudy.jobs.tasks import generate_and_import_task

    monkeypatch.setattr(generate_and_import_task, "time_limit", hard_limit_s)
    monkeypatch.setattr(generate_and_import_task, "soft_time_limit", soft_limit_s)
    # Celery caches a task's message options (limits included) at its first apply_async: an earlier test that queued
    # the task would otherwise send the settings' limits, not these.
    monkeypatch.setattr(generate_and_import_task, "_exec_options", None)

    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "DATABASE_URL": _database_url(), "GENERATION_TASK_TIME_LIMIT": str(hard_limit_s),
           "GENERATION_TASK_SOFT_TIME_LIMIT": str(soft_limit_s), "OMP_NUM_THREADS": "1",
           "MEDIA_ROOT": str(tmp_path / "media"), "TMPDIR": str(tmp_path / "tmp")}
    _set_eager(app, False)
    app.conf.broker_url = broker
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("gpu")
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app_module, "worker", "-Q", "gpu", "-P", "prefork", "-c", "1",
         "--max-tasks-per-child", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"gpu-time-limit-{os.getpid()}@%h", "--loglevel", "INFO"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: _children(worker.pid), 60, "the worker's pool child")
        yield worker, tmp_path / "worker.log"
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        _set_eager(app, True)


@pytest.fixture
def gpu_worker(transactional_db, tmp_path, monkeypatch):
    """The worker with a soft limit the job handles itself, well before the hard one."""
    yield from _start_gpu_worker(tmp_path, monkeypatch, HARD_LIMIT_S, SOFT_LIMIT_S)


@pytest.fixture
def gpu_worker_hard_limit_only(transactional_db, tmp_path, monkeypatch):
    """The worker whose jobs outlive their soft limit (as one stuck in native code does: its process ignores the soft
    limit's signal here): the hard limit kills the job's process, which has no chance to end its job."""
    yield from _start_gpu_worker(tmp_path, monkeypatch, KILL_AFTER_S, KILL_AFTER_S - 4,
                                 app_module="tests.celery_app_deaf_to_soft_limit")


@pytest.fixture(scope="module")
def slow_world(tmp_path_factory):
    """The tiny world's data and checkpoints, with a paper-width StarGAN (seconds per batch on one CPU thread)."""
    from training.checkpoints import FORMAT_VERSION, read_checkpoint_meta, save_checkpoint
    from training.models.factory import build_generator

    data = make_phantom_data(tmp_path_factory.mktemp("data"))
    checkpoints = make_tiny_checkpoints(data, tmp_path_factory.mktemp("runs"))
    config = {"kind": "stargan", "image_size": 256, "conv_dim": 64, "res_blocks": 6}
    torch.manual_seed(0)
    split = read_checkpoint_meta(checkpoints["stargan"])["split"]
    checkpoints["stargan"] = save_checkpoint(checkpoints["stargan"], {
        "kind": "stargan", "format_version": FORMAT_VERSION, "config": config, "step": 7, "seed": 0,
        "split": split, "model": build_generator(config).state_dict()})
    return data, checkpoints


def test_the_workers_main_process_ends_a_job_whose_process_was_killed(db, study_factory, staff_user, tmp_path,
                                                                       monkeypatch):
    """What Celery's main process does with the TimeLimitExceeded it reports for a killed child (``task_failure``,
    sent there): the job ends failed with a message and the child's working folder goes; other jobs are untouched."""
    from celery.exceptions import TimeLimitExceeded
    from celery.signals import task_failure

    from readerstudy.jobs.tasks import generate_and_import_task

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    killed = job_create(study=study_factory("killed"), created_by=staff_user, checkpoints={}, per_cell=1)
    done = job_create(study=study_factory("done"), created_by=staff_user, checkpoints={}, per_cell=1)
    GenerationJob.objects.filter(pk=killed.pk).update(status="running", stage="generating")
    GenerationJob.objects.filter(pk=done.pk).update(status="done")
    (tmp_path / f"generation-job-{killed.pk}-x1y2").mkdir()
    (tmp_path / f"generation-job-{killed.pk}0-x1y2").mkdir()  # another job's folder, not a prefix match

    def report(job_id: int, exception: Exception) -> None:
        task_failure.send(sender=generate_and_import_task, task_id="t", exception=exception, args=[job_id],
                          kwargs={}, traceback=None, einfo=None)

    report(killed.pk, TimeLimitExceeded(8))
    report(done.pk, TimeLimitExceeded(8))
    killed.refresh_from_db()
    assert (killed.status, killed.stage) == ("failed", "stopped") and killed.finished_at is not None
    assert killed.error == "The job ran past its hard time limit and its process was killed."
    assert GenerationJob.objects.get(pk=done.pk).status == "done"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"generation-job-{killed.pk}0-x1y2"]


def test_nothing_imports_torch_in_the_worker_before_the_fork():
    """What makes prefork safe with CUDA: the worker's main process, with Django and every task loaded, has no torch."""
    script = ("import sys, django; django.setup(); from readerstudy.celery import app; "
              "app.loader.import_default_modules(); import readerstudy.jobs.tasks; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'training', 'generation')))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "readerstudy.settings"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_a_job_over_its_time_limit_is_stopped_marked_failed_and_its_process_ends(gpu_worker, slow_world,
                                                                                  study_factory, staff_user):
    worker, log = gpu_worker
    data, checkpoints = slow_world
    (child_before,) = _children(worker.pid)
    started = time.monotonic()
    job = job_create(study=study_factory("over-limit"), created_by=staff_user, checkpoints=checkpoints,
                     data_dir=data, per_cell=2)

    def finished():
        current = GenerationJob.objects.get(pk=job.pk)
        return current if current.status in ("failed", "done") else None

    job = _wait_for(finished, HARD_LIMIT_S + 60, f"the job to end (worker log: {log})")
    elapsed = time.monotonic() - started
    assert job.status == "failed", (job.status, job.stage, log.read_text()[-2000:])
    assert job.error == "The job ran past its time limit and was stopped."
    assert job.stage == "stopped" and job.finished_at is not None
    assert SOFT_LIMIT_S <= elapsed < HARD_LIMIT_S
    # the child that ran the job exits (max-tasks-per-child 1): its memory, and a GPU's, is released
    _wait_for(lambda: child_before not in _children(worker.pid) and not Path(f"/proc/{child_before}").exists(), 60,
              "the job's process to exit")
    assert "Soft time limit (4s) exceeded" in log.read_text()


def test_a_job_killed_at_its_hard_time_limit_ends_failed_and_its_process_and_files_are_gone(
        gpu_worker_hard_limit_only, slow_world, study_factory, staff_user, tmp_path):
    worker, log = gpu_worker_hard_limit_only
    data, checkpoints = slow_world
    (child_before,) = _children(worker.pid)
    started = time.monotonic()
    job = job_create(study=study_factory("killed"), created_by=staff_user, checkpoints=checkpoints, data_dir=data,
                     per_cell=2)

    def finished():
        current = GenerationJob.objects.get(pk=job.pk)
        return current if current.status in ("failed", "done") else None

    job = _wait_for(finished, KILL_AFTER_S + 90, f"the job to end (worker log: {log})")
    assert job.status == "failed", (job.status, job.stage, log.read_text()[-2000:])
    assert job.error == "The job ran past its hard time limit and its process was killed."
    assert job.stage == "stopped" and job.finished_at is not None and job.attempts == 1
    assert time.monotonic() - started >= KILL_AFTER_S
    _wait_for(lambda: child_before not in _children(worker.pid) and not Path(f"/proc/{child_before}").exists(), 60,
              "the killed process to be gone")
    assert f"Soft time limit ({KILL_AFTER_S - 4}s) exceeded" in log.read_text()  # sent, and ignored
    assert f"Hard time limit ({KILL_AFTER_S}s) exceeded" in log.read_text()
    assert not list((tmp_path / "tmp").glob("generation-job-*"))  # the working folder the killed process left
