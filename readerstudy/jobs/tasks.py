"""The generate-and-import task. It runs on the "gpu" queue (CELERY_TASK_ROUTES), whose worker runs one task at a time
in a child process used once (``-P prefork -c 1 --max-tasks-per-child 1``): there Celery enforces the time limits (the
soft one raises SoftTimeLimitExceeded in the job, which ends it failed with a message; the hard one kills the child),
and the child's exit releases everything it held on the GPU. A child killed at the hard limit cannot end its job, so the
worker's main process does (``task_failure``, sent there with TimeLimitExceeded): the job ends failed with a message and
the working folder the child left is removed. The fork is safe for CUDA because the worker's main process never imports
torch (``tests/test_jobs_time_limit.py`` checks all of this on a real worker)."""
from __future__ import annotations

from celery import shared_task
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure
from django.conf import settings
from django.db import connection

from .services import job_fail_killed, job_run

HARD_LIMIT_S = settings.GENERATION_TASK_TIME_LIMIT
SOFT_LIMIT_S = settings.GENERATION_TASK_SOFT_TIME_LIMIT


@shared_task(name="readerstudy.jobs.tasks.generate_and_import_task", acks_late=True, reject_on_worker_lost=True,
             time_limit=HARD_LIMIT_S, soft_time_limit=SOFT_LIMIT_S)
def generate_and_import_task(job_id: int) -> str:
    """Run one generation job; a second delivery of the same message finds it claimed and does nothing."""
    return job_run(job_id)


@task_failure.connect
def end_a_killed_job_failed(sender=None, exception=None, args=(), **_) -> None:
    """The hard time limit killed the job's process (this runs in the worker's main process): end the job failed."""
    if getattr(sender, "name", None) != generate_and_import_task.name or not isinstance(exception, TimeLimitExceeded):
        return
    try:
        job_fail_killed(int(args[0]))
    finally:
        if not connection.in_atomic_block:
            connection.close()  # the main process forks the next child: no connection of its own to hand down
