"""Batch upload and import: the one code path behind the staff page, the API and ``manage.py import_batch``.

``batch_create`` stores the uploaded zip privately and enqueues the import once the row is committed.
``batch_import`` does the work, all or nothing: the whole zip is validated and every image normalised into a private
staging folder first; only then are the PNGs written to storage (their names recorded on the batch so a crash can be
cleaned up) and the cases created in one transaction. On any failure the written files are deleted, no case exists,
and the batch is marked failed with every error found.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from readerstudy.errors import ApplicationError
from readerstudy.progress import ThrottledProgress
from readerstudy.studies.models import Case, Study, case_image_path, case_origin_path
from readerstudy.text import scrubbed

from .archive import ArchiveLimits, ArchiveRejected
from .manifest import RowError
from .models import Batch
from .validation import ImportSettings, validate_batch

logger = logging.getLogger(__name__)
HASH_CHUNK_BYTES = 1024 * 1024


class BatchRejected(ApplicationError):
    """A refusal with a message for a person (and, for an invalid zip, every error found as {file, row, message}),
    answered as a 400 naming ``archive`` with the message and one line per error."""

    field = "archive"

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []

    def field_messages(self) -> list[str]:
        return [self.message] + [f"{error.get('file') or ''} row {error.get('row')}: {error.get('message')}"
                                 for error in self.errors]


def import_settings_for(study: Study) -> ImportSettings:
    """The limits from settings (BATCH_MAX_*) and the study's crop margin."""
    limits = ArchiveLimits(
        max_zip_bytes=settings.BATCH_MAX_ZIP_BYTES,
        max_members=settings.BATCH_MAX_MEMBERS,
        max_uncompressed_bytes=settings.BATCH_MAX_UNCOMPRESSED_BYTES,
        max_compression_ratio=settings.BATCH_MAX_COMPRESSION_RATIO,
    )
    return ImportSettings(limits=limits, max_image_pixels=settings.BATCH_MAX_IMAGE_PIXELS,
                          crop_margin=study.crop_margin, max_batch_pixels=settings.BATCH_MAX_BATCH_PIXELS)


def _require_draft(study: Study, action: str) -> None:
    if study.status != Study.Status.DRAFT:
        raise BatchRejected(f"Study '{study.slug}' is {study.get_status_display().lower()}: batches can only be "
                            f"{action} while a study is a draft.")


def _hash_and_size(fileobj: IO[bytes]) -> tuple[str, int]:
    """SHA-256 and size, read in chunks; stops early (and refuses) once the zip is over the size limit."""
    digest, size = hashlib.sha256(), 0
    fileobj.seek(0)
    while chunk := fileobj.read(HASH_CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
        if size > settings.BATCH_MAX_ZIP_BYTES:
            raise BatchRejected(f"The zip is over the limit of {settings.BATCH_MAX_ZIP_BYTES} bytes.")
    fileobj.seek(0)
    return digest.hexdigest(), size


def _describe(batch: Batch) -> str:
    name = f" ('{batch.original_name}')" if batch.original_name else ""
    status = batch.get_status_display().lower()
    return f"batch {batch.pk}{name}, uploaded {batch.created_at:%Y-%m-%d %H:%M} UTC, {status}"


def _earlier_batch_refusal(study: Study, sha256: str) -> BatchRejected | None:
    earlier = Batch.objects.filter(study=study, zip_sha256=sha256).exclude(status=Batch.Status.FAILED).first()
    if earlier is None:
        return None
    return BatchRejected(f"This zip (SHA-256 {sha256[:12]}...) was already uploaded to this study as "
                         f"{_describe(earlier)}.")


def batch_create(*, study: Study, archive_file: IO[bytes] | Path, original_name: str, uploaded_by=None,
                 enqueue: bool = True) -> Batch:
    """Store the zip privately as a queued Batch and enqueue its import when the transaction commits.

    Refuses (BatchRejected) a study that is not a draft, a zip over the size limit, and a zip whose SHA-256 was
    already uploaded to this study (naming the earlier batch).
    """
    from .tasks import batch_import_task

    _require_draft(study, "added")
    if isinstance(archive_file, (str, Path)):
        with open(archive_file, "rb") as handle:
            return batch_create(study=study, archive_file=handle, original_name=original_name,
                                uploaded_by=uploaded_by, enqueue=enqueue)
    sha256, size = _hash_and_size(archive_file)
    refusal = _earlier_batch_refusal(study, sha256)
    if refusal:
        raise refusal
    batch = Batch(study=study, uploaded_by=uploaded_by, original_name=scrubbed(Path(original_name or "").name)[:255],
                  zip_sha256=sha256, zip_bytes=size)
    batch.archive.save("upload.zip", File(archive_file), save=False)
    try:
        with transaction.atomic():
            batch.save()
            if enqueue:
                transaction.on_commit(lambda: batch_import_task.delay(batch.pk))
    except IntegrityError:  # the same zip uploaded concurrently
        batch.archive.delete(save=False)
        raise _earlier_batch_refusal(study, sha256) or BatchRejected("This zip was already uploaded.") from None
    return batch


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("could not delete %s from storage", name)


def _claim(batch_id: int) -> Batch | None:
    """Mark the batch running and return it, or None when it has already finished (a redelivered message).

    A batch found running was interrupted (the worker died and the message came back): whatever it staged is
    removed and the import starts again.
    """
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch_id)
        if batch.status in (Batch.Status.DONE, Batch.Status.FAILED):
            return None
        if batch.status == Batch.Status.RUNNING:
            logger.warning("batch %s was interrupted; cleaning up and restarting", batch.pk)
            _delete_files(batch.staged_files)
        batch.status = Batch.Status.RUNNING
        batch.started_at, batch.finished_at = timezone.now(), None
        batch.rows_done, batch.rows_total, batch.cases_created = 0, 0, 0
        batch.errors, batch.failure_reason, batch.staged_files = [], "", []
        batch.save()
    return batch


def _fail(batch: Batch, message: str, errors: list[RowError] | list[dict]) -> Batch:
    """End the batch failed, its files removed. The record must not fail on the data that caused the failure (a
    message quoting a NUL cannot be stored by PostgreSQL): control characters are scrubbed, and should the save still
    fail, a plain failure without details is recorded instead, so no batch is left running."""
    recorded = Batch.objects.filter(pk=batch.pk).values_list("staged_files", flat=True).first() or []
    _delete_files(sorted(set(recorded) | set(batch.staged_files)))
    batch.archive.delete(save=False)  # nothing of a failed batch stays in media storage
    batch.status = Batch.Status.FAILED
    batch.failure_reason = scrubbed(message)
    batch.errors = scrubbed([error.as_dict() if isinstance(error, RowError) else error for error in errors])
    batch.audit = scrubbed(batch.audit)
    batch.staged_files, batch.cases_created = [], 0
    batch.finished_at = timezone.now()
    try:
        with transaction.atomic():
            batch.save()
    except DatabaseError:
        logger.exception("batch %s: the failure could not be recorded in full", batch.pk)
        Batch.objects.filter(pk=batch.pk).update(
            status=Batch.Status.FAILED, failure_reason="The import failed; its details could not be recorded.",
            errors=[], audit={}, staged_files=[], cases_created=0, archive="", finished_at=batch.finished_at)
        batch.refresh_from_db()
    return batch


class _ProgressWriter(ThrottledProgress):
    """rows_done/rows_total on the batch (the batch page polls them)."""

    def __init__(self, batch: Batch):
        super().__init__(lambda done, total: Batch.objects.filter(pk=batch.pk).update(rows_done=done, rows_total=total))


def _write_to_storage(batch: Batch, staged) -> tuple[list[str], list[str]]:
    """Copy the staged PNGs (and origins) into storage under random names, recording the names on the batch before
    writing. (image names, origin names: "" for an image without an origin)."""
    planned = [case_image_path(None, "image.png") for _ in staged]
    planned_origins = [case_origin_path(None, "origin.png") if image.origin_path else "" for image in staged]
    batch.staged_files = planned + [name for name in planned_origins if name]
    batch.save(update_fields=["staged_files"])

    def store(name: str, path: Path) -> str:
        with open(path, "rb") as handle:
            stored = default_storage.save(name, File(handle, name=name))
        if stored != name:  # storage picked another name: record it so cleanup finds it
            batch.staged_files.append(stored)
            batch.save(update_fields=["staged_files"])
        return stored

    written = [store(name, image.staged_path) for name, image in zip(planned, staged, strict=True)]
    origins = [store(name, image.origin_path) if name else ""
               for name, image in zip(planned_origins, staged, strict=True)]
    return written, origins


def _create_cases(batch: Batch, staged, names: list[str], origins: list[str]) -> None:
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=batch.study_id)
        _require_draft(study, "added")
        findings = {finding.slug: finding for finding in study.findings.all()}
        sources = {source.slug: source for source in study.sources.all()}
        cases = [
            Case(study=study, image=name, pixel_sha256=image.pixel_sha256, finding=findings[image.row.finding],
                 source=sources[image.row.source], batch=batch, provenance=image.provenance(),
                 origin_seen=image.row.origin_seen, origin_file=origin)
            for name, origin, image in zip(names, origins, staged, strict=True)
        ]
        Case.objects.bulk_create(cases)
        batch.status = Batch.Status.DONE
        batch.cases_created = len(cases)
        batch.rows_done = batch.rows_total = len(cases)
        batch.staged_files = []
        batch.finished_at = timezone.now()
        batch.save()


def batch_import(*, batch: Batch) -> Batch:
    """Import a queued batch all or nothing; idempotent (a finished batch is returned untouched).

    Never raises for a bad zip or an unexpected error: the batch ends failed with the reason and every error.
    """
    claimed = _claim(batch.pk)
    if claimed is None:
        batch.refresh_from_db()
        return batch
    batch = claimed
    study = batch.study
    try:
        _require_draft(study, "added")
        findings = {finding.name: finding.slug for finding in study.findings.all()}
        sources = {source.name: source.slug for source in study.sources.all()}
        real_sources = {source.slug for source in study.sources.all() if source.is_real}
        existing = set(Case.objects.filter(study=study).values_list("pixel_sha256", flat=True))
        with tempfile.TemporaryDirectory(prefix="batch-") as staging, batch.archive.open("rb") as archive:
            validated = validate_batch(
                archive, size=batch.archive.size, config=import_settings_for(study), findings=findings,
                sources=sources, real_sources=real_sources, existing_pixel_hashes=existing, staging_dir=Path(staging),
                on_progress=_ProgressWriter(batch),
            )
            batch.audit = validated.audit
            batch.rows_total = len(validated.images)
            batch.save(update_fields=["audit", "rows_total"])
            names, origins = _write_to_storage(batch, validated.images)
            _create_cases(batch, validated.images, names, origins)
    except ArchiveRejected as rejected:
        return _fail(batch, f"The batch was refused: {len(rejected.errors)} problem(s) found; nothing was imported.",
                     rejected.errors)
    except BatchRejected as rejected:
        return _fail(batch, rejected.message, rejected.errors)
    except IntegrityError:
        logger.exception("batch %s hit a database constraint", batch.pk)
        return _fail(batch, "An image of this batch was added to the study by another import at the same time; "
                            "nothing was imported.", [])
    except Exception as error:  # noqa: BLE001 - any failure must end the batch as failed, never stuck running
        logger.exception("batch %s failed", batch.pk)
        return _fail(batch, f"The import failed unexpectedly ({type(error).__name__}: {error}); nothing was imported.",
                     [])
    return batch


def batch_delete(*, batch: Batch) -> None:
    """Remove a finished batch and its cases (and their files) from a draft study."""
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=batch.study_id)
        _require_draft(study, "removed")
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if batch.status in (Batch.Status.QUEUED, Batch.Status.RUNNING):
            raise BatchRejected(f"Batch {batch.pk} is still {batch.status}; wait until it has finished.")
        names = list(Case.objects.filter(batch=batch).values_list("image", flat=True))
        names += [name for name in Case.objects.filter(batch=batch).values_list("origin_file", flat=True) if name]
        if batch.archive:
            names.append(batch.archive.name)
        Case.objects.filter(batch=batch).delete()
        batch.delete()
        transaction.on_commit(lambda: _delete_files(names))
