"""Generate-and-import jobs: the whole job in eager mode, the claim that stops a second run, failures, refusals."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from readerstudy.batches.models import Batch
from readerstudy.jobs.models import GenerationJob
from readerstudy.jobs.services import JobRejected, job_create, job_run
from tests.generation.tiny_world import make_phantom_data, make_tiny_checkpoints


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data = make_phantom_data(tmp_path_factory.mktemp("data"))
    return data, make_tiny_checkpoints(data, tmp_path_factory.mktemp("runs"))


def _queued_job(study, world, **fields) -> GenerationJob:
    data, checkpoints = world
    return GenerationJob.objects.create(study=study, data_dir=str(data), per_cell=fields.pop("per_cell", 2),
                                        checkpoints={k: str(v) for k, v in checkpoints.items()}, **fields)


def test_job_generates_and_imports_a_batch(study_factory, staff_user, world, django_capture_on_commit_callbacks):
    data, checkpoints = world
    study = study_factory("gen")
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(study=study, created_by=staff_user, checkpoints=checkpoints, data_dir=data, per_cell=2)
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 1 and job.error == ""
    assert job.progress_done == job.progress_total == 48
    assert job.batch.status == Batch.Status.DONE and job.batch.cases_created == 48
    assert job.batch.uploaded_by == staff_user and study.cases.count() == 48


def test_imported_batch_keeps_the_box_audit(study_factory, staff_user, world, django_capture_on_commit_callbacks):
    data, checkpoints = world
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(study=study_factory("gen"), created_by=staff_user, checkpoints=checkpoints, data_dir=data,
                         per_cell=2)
    job.refresh_from_db()
    audit = job.batch.audit
    boxed = [record for record in audit["images"] if record["box_identical"] is not None]
    assert len(boxed) == 24 and all(record["max_abs_diff_in_box"] == 0 for record in boxed)
    assert set(audit["quality"]) == {"Real", "StarGAN", "Pix2Pix", "Pix2Pix-N"}
    assert job.provenance_summary["audit"]["box_identical"] == 24


def test_redelivered_message_does_not_run_a_running_job_again(study_factory, world):
    job = _queued_job(study_factory("gen"), world, status="running", attempts=1, heartbeat_at=timezone.now())
    assert job_run(job.pk) == "skipped"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.batch) == ("running", 1, None)
    assert not Batch.objects.exists()


def test_finished_job_is_left_alone(study_factory, world):
    job = _queued_job(study_factory("gen"), world, status="done", attempts=1)
    assert job_run(job.pk) == "skipped"
    assert GenerationJob.objects.get(pk=job.pk).attempts == 1


def test_running_job_of_a_dead_worker_is_taken_over(study_factory, world, settings):
    stale = timezone.now() - timedelta(seconds=settings.GENERATION_JOB_STALE_AFTER_S + 5)
    job = _queued_job(study_factory("gen"), world, status="running", attempts=1, heartbeat_at=stale)
    assert job_run(job.pk) == "done"
    job.refresh_from_db()
    assert job.attempts == 2 and job.batch is not None


def test_bad_checkpoint_fails_the_job_with_the_reason(study_factory, world, tmp_path):
    job = _queued_job(study_factory("gen"), world)
    job.checkpoints["stargan"] = str(tmp_path / "missing.pt")
    job.save()
    assert job_run(job.pk) == "failed"
    job.refresh_from_db()
    assert "checkpoint for stargan not found" in job.error and job.finished_at is not None
    assert job.batch is None and not Batch.objects.exists()


def test_data_short_of_images_fails_the_job_naming_the_finding(study_factory, world):
    job = _queued_job(study_factory("gen"), world, per_cell=40)
    assert job_run(job.pk) == "failed"
    error = GenerationJob.objects.get(pk=job.pk).error
    assert "the plan cannot meet its constraints" in error and "Atelectasis / " in error and "short by" in error


def test_open_study_is_refused(study_factory, staff_user, world):
    data, checkpoints = world
    with pytest.raises(JobRejected, match="open"):
        job_create(study=study_factory("gen", status="open"), created_by=staff_user, checkpoints=checkpoints)


def test_second_active_job_for_a_study_is_refused(study_factory, staff_user, world):
    data, checkpoints = world
    study = study_factory("gen")
    job_create(study=study, created_by=staff_user, checkpoints=checkpoints, data_dir=data)
    with pytest.raises(JobRejected, match="already queued or running"):
        job_create(study=study, created_by=staff_user, checkpoints=checkpoints, data_dir=data)
    assert GenerationJob.objects.filter(study=study).count() == 1
