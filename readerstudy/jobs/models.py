"""A generation job: "generate and import" for one study, run once by a Celery worker on the gpu queue."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class GenerationJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="generation_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data_dir = models.CharField(max_length=500)
    checkpoints = models.JSONField(help_text="{generator kind: checkpoint path}")
    per_cell = models.PositiveSmallIntegerField(default=25)
    seed = models.IntegerField(default=0)
    allow_reuse = models.BooleanField(default=False)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=100, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker claimed the job.")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the running worker.")
    error = models.TextField(blank=True)
    batch = models.ForeignKey(
        "batches.Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_jobs"
    )
    provenance_summary = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(per_cell__gte=1), name="generation_job_per_cell_positive"),
            models.CheckConstraint(condition=Q(status__in=["queued", "running", "done", "failed"]),
                                   name="generation_job_status_known"),
            # One generate-and-import at a time per study: two would race for the same images.
            models.UniqueConstraint(fields=["study"], condition=Q(status__in=["queued", "running"]),
                                    name="one_active_generation_job_per_study"),
        ]

    def __str__(self) -> str:
        return f"Generation job {self.pk} for {self.study.slug} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.progress_done / self.progress_total) if self.progress_total else 0

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
