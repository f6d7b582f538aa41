"""The generate-and-import job on a real Celery worker (Redis broker, queues default and gpu) with tiny models."""
from __future__ import annotations

import time

import pytest

from readerstudy.batches.models import Batch
from readerstudy.jobs.models import GenerationJob
from readerstudy.jobs.services import job_create
from tests.generation.tiny_world import make_phantom_data, make_tiny_checkpoints

pytestmark = pytest.mark.worker


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data = make_phantom_data(tmp_path_factory.mktemp("data"))
    return data, make_tiny_checkpoints(data, tmp_path_factory.mktemp("runs"))


def _wait_for(predicate, timeout_s: float = 180):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def _finished_job(job_id: int) -> GenerationJob | None:
    job = GenerationJob.objects.select_related("batch").get(pk=job_id)
    if job.status == "failed":
        raise AssertionError(f"job failed: {job.error}")
    done = job.status == "done" and job.batch and job.batch.status in (Batch.Status.DONE, Batch.Status.FAILED)
    return job if done else None


def test_worker_generates_and_imports(celery_real_worker, study_factory, staff_user, world):
    data, checkpoints = world
    study = study_factory("gen-worker")
    job = job_create(study=study, created_by=staff_user, checkpoints=checkpoints, data_dir=data, per_cell=2)
    job = _wait_for(lambda: _finished_job(job.pk))
    assert job.batch.status == Batch.Status.DONE, job.batch.failure_reason
    assert job.batch.cases_created == 48 == study.cases.count()
    assert job.attempts == 1


def test_the_same_job_delivered_three_times_runs_once(celery_real_worker, study_factory, staff_user, world):
    """Two extra deliveries of the job's message (as after a visibility timeout) find it claimed or done."""
    from celery.signals import task_postrun

    from readerstudy.jobs.tasks import generate_and_import_task

    outcomes: list[str] = []

    def record(sender=None, retval=None, **kwargs):
        if getattr(sender, "name", None) == generate_and_import_task.name:
            outcomes.append(retval)

    task_postrun.connect(record, weak=False)
    try:
        data, checkpoints = world
        study = study_factory("gen-twice")
        job = job_create(study=study, created_by=staff_user, checkpoints=checkpoints, data_dir=data, per_cell=2)
        for _ in range(2):
            generate_and_import_task.delay(job.pk)
        try:
            _wait_for(lambda: len(outcomes) == 3, timeout_s=60)
        except AssertionError:
            raise AssertionError(f"{outcomes} {list(GenerationJob.objects.values())}") from None
        job = _wait_for(lambda: _finished_job(job.pk))
    finally:
        task_postrun.disconnect(record)
    assert sorted(outcomes) == ["done", "skipped", "skipped"]
    assert job.attempts == 1 and job.batch.status == Batch.Status.DONE, job.batch.failure_reason
    assert Batch.objects.filter(study=study).count() == 1 and study.cases.count() == 48
