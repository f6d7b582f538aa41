"""The batch as JSON, for the API and the pages' status polling."""
from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from .models import Batch


class BatchOutputSerializer(serializers.ModelSerializer):
    study = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    duration_s = serializers.FloatField(read_only=True, allow_null=True)
    page_url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()
    finished = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = ["id", "study", "status", "finished", "original_name", "zip_sha256", "zip_bytes", "rows_total",
                  "rows_done", "cases_created", "errors", "failure_reason", "uploaded_by", "created_at", "started_at",
                  "finished_at", "duration_s", "page_url", "api_url"]
        read_only_fields = fields

    def get_page_url(self, batch: Batch) -> str:
        return reverse("batch_detail", args=[batch.study.slug, batch.pk])

    def get_api_url(self, batch: Batch) -> str:
        return reverse("api_batch_detail", args=[batch.study.slug, batch.pk])

    def get_finished(self, batch: Batch) -> bool:
        return batch.status in (Batch.Status.DONE, Batch.Status.FAILED)


class BatchDetailOutputSerializer(BatchOutputSerializer):
    class Meta(BatchOutputSerializer.Meta):
        fields = [*BatchOutputSerializer.Meta.fields, "audit"]
        read_only_fields = fields
