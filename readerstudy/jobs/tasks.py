"""The generate-and-import task. It runs on the "gpu" queue (CELERY_TASK_ROUTES), whose worker runs one task at a time
in its main process (``-P solo``): CUDA does not survive a fork."""
from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .services import job_run

HARD_LIMIT_S = settings.GENERATION_TASK_TIME_LIMIT
# The soft limit comes first so the job can record why it stopped; a minute early, or a tenth for short limits.
SOFT_LIMIT_S = max(1, HARD_LIMIT_S - min(60, HARD_LIMIT_S // 10))


@shared_task(name="readerstudy.jobs.tasks.generate_and_import_task", acks_late=True, reject_on_worker_lost=True,
             time_limit=HARD_LIMIT_S, soft_time_limit=SOFT_LIMIT_S)
def generate_and_import_task(job_id: int) -> str:
    """Run one generation job; a second delivery of the same message finds it claimed and does nothing."""
    return job_run(job_id)
