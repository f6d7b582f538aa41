"""Django admin for reading: the votes, read-only (readers cast them through the API; nobody edits an answer here,
issue 29), every view of them audited as operator access (``readerstudy/admin_site.py``)."""
from django.contrib import admin

from .models import Vote


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ("membership", "case", "answer", "confidence", "time_ms", "position", "created_at")
    list_filter = ("membership__study", "answer")
    list_select_related = ("membership__study", "case")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
