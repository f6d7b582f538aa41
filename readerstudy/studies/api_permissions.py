"""The DRF permission behind the study admins' API: the caller administers the URL's study (404 for anyone else)."""
from __future__ import annotations

from django.http import Http404
from rest_framework.permissions import BasePermission

from .models import Study
from .permissions import ADMINISTER_STUDY
from .selectors import study_for_staff


class IsStudyAdmin(BasePermission):
    """DRF: the caller administers the study named by the URL's ``slug`` (and, for object views, the object's study).

    A caller who does not gets 404, never 403, so the study's existence is not revealed. The study is left on
    ``request.study`` for the view."""

    def has_permission(self, request, view) -> bool:
        slug = view.kwargs.get("slug")
        if slug is not None:
            request.study = study_for_staff(request.user, slug)
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        study = obj if isinstance(obj, Study) else getattr(obj, "study", None)
        if not request.user.has_perm(ADMINISTER_STUDY, study):
            raise Http404("No such study.")
        return True
