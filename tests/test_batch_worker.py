"""The Celery path with a real worker on the real broker (CI: Redis), not only eager."""
from __future__ import annotations

import io
import time

import pytest

from readerstudy.batches.models import Batch
from readerstudy.batches.services import batch_create
from readerstudy.studies.models import Case
from tests.factories import make_batch_zip


@pytest.mark.worker
def test_a_real_worker_imports_a_queued_batch(celery_real_worker, study_factory):
    study = study_factory()
    batch = batch_create(study=study, archive_file=io.BytesIO(make_batch_zip()), original_name="w.zip")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.status in (Batch.Status.DONE, Batch.Status.FAILED):
            break
        time.sleep(0.1)
    assert batch.status == Batch.Status.DONE, batch.failure_reason
    assert Case.objects.filter(study=study, batch=batch).count() == 4


@pytest.mark.worker
def test_a_second_message_for_the_same_batch_imports_nothing_twice(celery_real_worker, study_factory):
    """A redelivered (or duplicated) message finds the batch finished and changes nothing."""
    from celery.signals import task_postrun

    from readerstudy.batches.tasks import batch_import_task

    results: list[str] = []

    def record(sender=None, retval=None, **kwargs):
        if getattr(sender, "name", None) == batch_import_task.name:
            results.append(retval)

    task_postrun.connect(record, weak=False)
    try:
        study = study_factory()
        batch = batch_create(study=study, archive_file=io.BytesIO(make_batch_zip()), original_name="w.zip")
        batch_import_task.delay(batch.pk)  # the same message again, as a redelivery would bring it
        deadline = time.monotonic() + 60
        while len(results) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        task_postrun.disconnect(record)
    assert results == ["done", "done"]
    assert Case.objects.filter(study=study).count() == 4
