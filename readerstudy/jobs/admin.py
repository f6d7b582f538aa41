from django.contrib import admin

from .models import GenerationJob


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "study", "status", "stage", "progress_done", "progress_total", "attempts", "created_at")
    list_filter = ("status",)
    readonly_fields = ("heartbeat_at", "started_at", "finished_at", "attempts", "provenance_summary")
