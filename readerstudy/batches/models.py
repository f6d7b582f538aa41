"""A batch: one uploaded zip of images and its import's state, counts, timings and errors."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def batch_upload_path(instance: Batch, filename: str) -> str:
    return f"batches/{secrets.token_hex(16)}.zip"


class Batch(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="batches")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_name = models.CharField(max_length=255, blank=True)
    archive = models.FileField(upload_to=batch_upload_path, max_length=200, blank=True)
    zip_sha256 = models.CharField(max_length=64, db_index=True)
    zip_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    cases_created = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{file, row, message}] for every problem found.")
    failure_reason = models.TextField(blank=True)
    audit = models.JSONField(default=dict, blank=True, help_text="Generation provenance and audit, when present.")
    staged_files = models.JSONField(
        default=list, blank=True,
        help_text="Storage names written by a running import before its cases commit; removed if it fails or restarts.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"
        constraints = [
            # The same zip cannot be imported twice into a study, even by two uploads racing; a failed one may retry.
            models.UniqueConstraint(
                fields=["study", "zip_sha256"], condition=~models.Q(status="failed"), name="one_live_batch_per_zip"
            ),
        ]

    def __str__(self) -> str:
        return f"Batch {self.pk} of {self.study.slug} ({self.status})"

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
