"""The batch import as a Celery task: eager with the embedded default, a real worker on Redis in production."""
from __future__ import annotations

from celery import shared_task

from .models import Batch
from .services import batch_import


@shared_task(acks_late=True, reject_on_worker_lost=True, name="readerstudy.batches.tasks.batch_import_task")
def batch_import_task(batch_id: int) -> str:
    """Import one batch; safe to run again (a finished batch is left alone, an interrupted one restarts cleanly)."""
    batch = Batch.objects.filter(pk=batch_id).first()
    if batch is None:
        return "missing"
    return batch_import(batch=batch).status
