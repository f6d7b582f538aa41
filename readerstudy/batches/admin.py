from django.contrib import admin

from .models import Batch


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("pk", "study", "status", "rows_total", "cases_created", "uploaded_by", "created_at")
    list_filter = ("status", "study")
    readonly_fields = ("zip_sha256", "errors", "audit", "created_at", "started_at", "finished_at")
