"""Generation jobs: create one for a study, let exactly one worker claim it, run generation, hand the zip on.

The guard against running twice is the claim, one conditional UPDATE: a job is taken only while it is queued, or while
it is "running" with a heartbeat older than ``GENERATION_JOB_STALE_AFTER_S`` (its worker died). A message the broker
redelivers (acks_late, after the visibility timeout, or after a worker loss) therefore finds the job running with a
fresh heartbeat, or done, and does nothing.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from readerstudy.batches.services import BatchRejected, batch_create
from readerstudy.progress import ThrottledProgress
from readerstudy.studies.models import Study

from .models import GenerationJob

logger = logging.getLogger(__name__)


class JobRejected(Exception):
    """A refusal for a person to read (the study is not a draft, a job is already running, ...)."""


def job_create(*, study: Study, created_by, checkpoints: dict[str, str], data_dir: str | Path | None = None,
               per_cell: int = 25, seed: int = 0, allow_reuse: bool = False) -> GenerationJob:
    """Record a queued job and start it (``job_start``) once the row is committed."""
    if study.status != Study.Status.DRAFT:
        raise JobRejected(f"Study '{study.slug}' is {study.get_status_display().lower()}: images can only be added "
                          "to a draft study.")
    if per_cell < 1:
        raise JobRejected("Images per cell must be at least 1.")
    try:
        with transaction.atomic():
            job = GenerationJob.objects.create(
                study=study, created_by=created_by, checkpoints={k: str(v) for k, v in checkpoints.items()},
                data_dir=str(data_dir or settings.GENERATION_DATA_DIR), per_cell=per_cell, seed=seed,
                allow_reuse=allow_reuse)
            transaction.on_commit(lambda: job_start(job.pk))
    except IntegrityError:
        raise JobRejected(f"A generation job for '{study.slug}' is already queued or running; wait for it.") from None
    return job


def job_start(job_id: int) -> None:
    """With a broker, queue the job's task for the gpu worker. Without one (``GENERATION_RUN_IN_THREAD``, the default
    set-up's eager Celery) run it in a background thread of this process: eager Celery would run it inside the request
    that started it, which then hangs for the whole job and its page never shows a step of progress. The thread is the
    same ``job_run`` a worker calls, so the job page polls the same progress either way; it has no time limit and ends
    with the process (a development server's restart leaves the job running until its heartbeat is stale)."""
    from .tasks import generate_and_import_task

    if not settings.GENERATION_RUN_IN_THREAD:
        generate_and_import_task.delay(job_id)
        return
    threading.Thread(target=_run_in_thread, args=(job_id,), name=f"generation-job-{job_id}", daemon=True).start()


def _run_in_thread(job_id: int) -> None:
    try:
        job_run(job_id)
    finally:
        connections.close_all()  # this thread's own connections; the request's are not touched


def job_claim(job_id: int) -> GenerationJob | None:
    """Take the job for this worker, or None when another worker has it (or it has finished)."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.GENERATION_JOB_STALE_AFTER_S)
    claimable = Q(status=GenerationJob.Status.QUEUED) | Q(status=GenerationJob.Status.RUNNING,
                                                          heartbeat_at__lt=stale_before)
    taken = GenerationJob.objects.filter(claimable, pk=job_id).update(
        status=GenerationJob.Status.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now,
        stage="starting", progress_done=0, progress_total=0, error="")
    return GenerationJob.objects.get(pk=job_id) if taken else None


def job_run(job_id: int) -> str:
    """Claim and run one job: build the verification set into a temporary zip and hand it to the batch import."""
    job = job_claim(job_id)
    if job is None:
        status = GenerationJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
        logger.info("generation job %s not claimed (status %s): already taken or finished", job_id, status)
        return "skipped"
    try:
        batch = _generate_and_hand_over(job)
    except SoftTimeLimitExceeded:
        return _finish(job, GenerationJob.Status.FAILED, error="The job ran past its time limit and was stopped.")
    except Exception as error:  # noqa: BLE001 - every failure must end the job failed with a reason, never running
        from generation.errors import GenerationError

        if isinstance(error, GenerationError | BatchRejected):
            return _finish(job, GenerationJob.Status.FAILED, error=str(error))
        logger.exception("generation job %s failed", job.pk)
        return _finish(job, GenerationJob.Status.FAILED, error=f"Unexpected failure ({type(error).__name__}: {error})")
    return _finish(job, GenerationJob.Status.DONE, batch=batch)


KILLED_AT_HARD_LIMIT = "The job ran past its hard time limit and its process was killed."
WORKDIR_PREFIX = "generation-job-{pk}-"


def job_fail_killed(job_id: int, reason: str = KILLED_AT_HARD_LIMIT) -> bool:
    """End a job its process could not end itself (killed at the hard time limit) failed with ``reason``; remove the
    working folder the killed process left. Runs in the worker's parent process. False if the job had already ended."""
    now = timezone.now()
    ended = GenerationJob.objects.filter(pk=job_id, status__in=GenerationJob.ACTIVE).update(
        status=GenerationJob.Status.FAILED, error=reason, stage="stopped", finished_at=now, heartbeat_at=now)
    for workdir in Path(tempfile.gettempdir()).glob(WORKDIR_PREFIX.format(pk=job_id) + "*"):
        shutil.rmtree(workdir, ignore_errors=True)
    if ended:
        logger.error("generation job %s: %s", job_id, reason)
    return bool(ended)


def _generate_and_hand_over(job: GenerationJob):
    from generation.verification import VerificationSetConfig, build_verification_set

    _update(job, stage="generating")
    with tempfile.TemporaryDirectory(prefix=WORKDIR_PREFIX.format(pk=job.pk)) as workdir:
        config = VerificationSetConfig(
            data_dir=Path(job.data_dir), checkpoints={k: Path(v) for k, v in job.checkpoints.items()},
            out=Path(workdir) / "verification-set.zip", per_cell=job.per_cell, seed=job.seed,
            allow_reuse=job.allow_reuse, crop_margin=job.study.crop_margin or _default_margin(),
            device=settings.GENERATION_DEVICE)
        # Progress and the heartbeat together (``_update``); the job page reloads to show them.
        result = build_verification_set(config, progress=ThrottledProgress(
            lambda done, total: _update(job, progress_done=done, progress_total=total)))
        job.provenance_summary = {"images": result.images, "audit": result.provenance["audit"],
                                  "reused_images": result.provenance["reused_images"],
                                  "checkpoints": {k: {"sha256": v["sha256"], "step": v["step"]}
                                                  for k, v in result.provenance["checkpoints"].items()}}
        _update(job, stage="importing", provenance_summary=job.provenance_summary)
        study = Study.objects.get(pk=job.study_id)
        return batch_create(study=study, archive_file=result.out, original_name=f"generated-job-{job.pk}.zip",
                            uploaded_by=job.created_by)


def _default_margin() -> float:
    from generation.pipeline import DEFAULT_CROP_MARGIN

    return DEFAULT_CROP_MARGIN


def _update(job: GenerationJob, **fields) -> None:
    fields["heartbeat_at"] = timezone.now()
    GenerationJob.objects.filter(pk=job.pk).update(**fields)


def _finish(job: GenerationJob, status: str, error: str = "", batch=None) -> str:
    _update(job, status=status, error=error, batch=batch, finished_at=timezone.now(),
            stage="handed to the batch import" if batch else "stopped")
    return status
