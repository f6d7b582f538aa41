"""The generate-and-import task. It runs on the "gpu" queue (CELERY_TASK_ROUTES), whose worker runs one task at a time
in its main process (``-P solo``): CUDA does not survive a fork."""
from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .services import job_run


@shared_task(name="readerstudy.jobs.tasks.generate_and_import_task", acks_late=True, reject_on_worker_lost=True,
             time_limit=settings.GENERATION_TASK_TIME_LIMIT, soft_time_limit=settings.GENERATION_TASK_TIME_LIMIT - 60)
def generate_and_import_task(job_id: int) -> str:
    """Run one generation job; a second delivery of the same message finds it claimed and does nothing."""
    return job_run(job_id)
