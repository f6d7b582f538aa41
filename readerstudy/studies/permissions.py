"""Who administers a study: the one rule behind every staff page, API operation and export.

The rule is a django-rules predicate registered as the object permission ``studies.administer_study``, so code asks
``user.has_perm(ADMINISTER_STUDY, study)`` (Django's superusers pass every permission check, as operators). Views do
not ask directly: they go through ``selectors.study_for_staff`` (404 for anyone else),
``api_permissions.IsStudyAdmin`` (DRF) or ``administered_by`` (a queryset of any model that belongs to a study,
filtered to the caller's studies).

A study admin is a staff account listed in the study's ``StudyAdministrator`` rows; staff alone administers nothing.
"""
from __future__ import annotations

import rules
from django.db.models import Exists, OuterRef, QuerySet

from .models import Study, StudyAdministrator

ADMINISTER_STUDY = "studies.administer_study"


def may_administer(user) -> bool:
    """Could this account administer any study at all (active staff or superuser)? A cheap, query-free test."""
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


def caller_is_admin(user) -> Exists:
    """An annotation: is ``user`` listed as an admin of the row's study (for ``Study`` querysets)."""
    return Exists(StudyAdministrator.objects.filter(study=OuterRef("pk"), user=user.pk))


@rules.predicate
def is_study_admin(user, study: Study | None) -> bool:
    """Listed as the study's admin (and still active staff). Uses the ``caller_is_admin`` annotation the selectors put
    on the study for this user, so the check costs no query of its own; asks the database otherwise."""
    if study is None or not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    if getattr(study, "admin_checked_for", None) == user.pk:
        return bool(study.caller_is_admin)
    return StudyAdministrator.objects.filter(study=study, user=user).exists()


rules.add_perm(ADMINISTER_STUDY, is_study_admin)


def administered_by(user, queryset: QuerySet, study_field: str = "study") -> QuerySet:
    """``queryset`` (of studies, or of anything with a ``study_field`` path to a study) limited to the studies the user
    administers; superusers see every row. For list views, Django admin and DRF ``get_queryset``."""
    if not may_administer(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    prefix = "" if queryset.model is Study else f"{study_field}__"
    return queryset.filter(**{f"{prefix}administrators__user": user})
