"""The disk refusing a write during an import: the batch fails cleanly, naming the reason, and leaves nothing behind
(no case, no image file, not even the uploaded zip)."""
from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage

from readerstudy.batches.models import Batch
from readerstudy.batches.services import batch_create, batch_import
from readerstudy.studies.models import Case
from tests.factories import make_batch_zip


class FullDiskStorage(FileSystemStorage):
    """A file system storage whose disk fills up after ``FullDiskStorage.writes_left`` files."""

    writes_left = 0

    def _save(self, name, content):
        if FullDiskStorage.writes_left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device", name)
        FullDiskStorage.writes_left -= 1
        return super()._save(name, content)


def test_a_full_disk_mid_import_fails_the_batch_and_leaves_nothing(study_factory, settings_override):
    study = study_factory()
    FullDiskStorage.writes_left = 3  # the zip, then two of the four images
    batch = batch_create(study=study, archive_file=io.BytesIO(make_batch_zip()), original_name="full.zip",
                         enqueue=False)
    batch = batch_import(batch=batch)
    assert batch.status == Batch.Status.FAILED
    assert "No space left on device" in batch.failure_reason
    assert batch.staged_files == [] and not Case.objects.filter(study=study).exists()
    left = [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]
    assert left == []


def test_a_full_disk_at_upload_refuses_without_a_batch_row(study_factory, settings_override):
    study = study_factory()
    FullDiskStorage.writes_left = 0
    try:
        batch_create(study=study, archive_file=io.BytesIO(make_batch_zip()), original_name="full.zip", enqueue=False)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    assert not Batch.objects.filter(study=study).exists()


@pytest.fixture
def settings_override(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "tests.security.test_disk_full_import.FullDiskStorage"},
    }
    yield settings
