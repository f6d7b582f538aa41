"""Django admin for operators only: it shows every study's truth across studies, so it is closed to everyone but
superusers (study admins manage their own studies through the study pages, which check per-study roles)."""
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class OperatorsAdminSite(admin.AdminSite):
    site_header = "Reader study: operator admin (every study)"

    def has_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


class OperatorsAdminConfig(AdminConfig):
    default_site = "readerstudy.admin_site.OperatorsAdminSite"
