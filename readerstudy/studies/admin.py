"""Django admin: the one place besides results where a case's truth (its source) is visible."""
from django.contrib import admin

from .models import Case, Finding, Membership, Source, Study, StudyAdministrator


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "order")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_real", "order")
    prepopulated_fields = {"slug": ("name",)}


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "number", "joined_at", "last_activity_at")
    readonly_fields = ("joined_at", "last_activity_at")


class AdministratorInline(admin.TabularInline):
    """Who administers the study, read-only: grants and removals go through the readers page, the API or
    ``manage.py study_admins``, which audit them and keep the last admin."""

    model = StudyAdministrator
    extra = 0
    fields = readonly_fields = ("user", "granted_by", "granted_at")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("findings", "sources")
    inlines = [AdministratorInline, MembershipInline]
    # The lifecycle (open, pause, close: checked, confirmed and audited) goes through the study pages, the API or
    # the commands; here it is shown only. A study is created complete (findings, sources, its admin) by the New
    # study page, the API or ``manage.py create_study``, never half-made here.
    readonly_fields = ("status", "opened_at", "closed_at", "created_by", "created_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("public_id", "study", "finding", "source", "batch", "created_at", "excluded_at")
    list_filter = ("study", "finding", "source")
    search_fields = ("public_id",)
    # Exclusion goes through the case gallery (draft only, audited), never through a form here.
    readonly_fields = ("public_id", "image_token", "pixel_sha256", "provenance", "created_at", "excluded_at",
                       "exclusion_reason", "excluded_by")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("study", "user", "number", "joined_at", "last_activity_at")
    list_filter = ("study",)
