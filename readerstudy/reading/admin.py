"""Django admin for reading: the votes (read-mostly; readers cast them through the API)."""
from django.contrib import admin

from .models import Vote


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ("membership", "case", "answer", "confidence", "time_ms", "position", "created_at")
    list_filter = ("membership__study", "answer")
    list_select_related = ("membership__study", "case")
