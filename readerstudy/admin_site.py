"""Django admin for operators only: it shows every study's truth across studies, so it is closed to everyone but
superusers (study admins manage their own studies through the study pages, which check per-study roles).

Every admin page a superuser opens is operator access, audited like the others (issue 29: a superuser listed every
case's source and edited a vote with no audit entry and no header): each study the page shows or changes gets an
``operator_access`` entry naming the request (``studies/operator.py``), and every admin response carries
``X-Operator-Access``.
"""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

# Imported when first used: this module is loaded with the app registry, before any model.
OPERATOR_HEADER = "X-Operator-Access"  # readerstudy.studies.operator.OPERATOR_HEADER
STUDY_PATHS = ("study", "membership__study", "case__study")  # how an admin row reaches its study


def study_of(obj):
    """The study an admin row belongs to (a study itself, a case, a batch, a job, a membership, a vote), or None."""
    from readerstudy.studies.models import Study

    if isinstance(obj, Study):
        return obj
    for path in STUDY_PATHS:
        target = obj
        for part in path.split("__"):
            target = getattr(target, part, None)
            if target is None:
                break
        if isinstance(target, Study):
            return target
    return None


def _studies_on_page(model_admin, request, kwargs: dict, response) -> list:
    found = []
    object_id = kwargs.get("object_id")
    if object_id is not None and model_admin is not None:
        obj = model_admin.get_object(request, object_id)
        found.append(study_of(obj) if obj is not None else None)
    context = getattr(response, "context_data", None) or {}
    changelist = context.get("cl")
    if changelist is not None:
        found.extend(study_of(row) for row in changelist.result_list)
    unique = {study.pk: study for study in found if study is not None}
    return list(unique.values())


class OperatorsAdminSite(admin.AdminSite):
    site_header = "Reader study: operator admin (every study)"

    def has_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)
        model_admin = getattr(view, "__self__", None)
        model_admin = model_admin if isinstance(model_admin, admin.ModelAdmin) else None

        def audited(request, *args, **kwargs):
            from readerstudy.studies.operator import operator_access

            if not self.has_permission(request):
                return inner(request, *args, **kwargs)
            # The object's study first: a change or deletion (even one refused) is audited before it runs.
            for study in _studies_on_page(model_admin, request, kwargs, None):
                operator_access(request.user, study)
            response = inner(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            for study in _studies_on_page(None, request, kwargs, response):
                operator_access(request.user, study)
            response[OPERATOR_HEADER] = "superuser in the operator admin (every study)"
            return response

        audited.__wrapped__ = inner
        return audited


class OperatorsAdminConfig(AdminConfig):
    default_site = "readerstudy.admin_site.OperatorsAdminSite"
