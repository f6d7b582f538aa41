"""Reads that decide who may see what: a study is found only for its members or for staff; others get 404."""
from __future__ import annotations

from django.http import Http404

from .models import Membership, Study


def membership_for(user, slug: str) -> Membership:
    """The caller's membership in the study, or 404: a non-member must not learn that the study exists."""
    if not user.is_authenticated:
        raise Http404("No such study.")
    membership = (
        Membership.objects.select_related("study", "user").filter(study__slug=slug, user=user).first()
    )
    if membership is None:
        raise Http404("No such study.")
    return membership


def study_for_staff(user, slug: str) -> Study:
    """The study for a study admin (staff), or 404 for anyone else."""
    if not (user.is_authenticated and user.is_staff):
        raise Http404("No such study.")
    try:
        return Study.objects.get(slug=slug)
    except Study.DoesNotExist:
        raise Http404("No such study.") from None


def studies_for_reader(user):
    return Study.objects.filter(memberships__user=user).exclude(status=Study.Status.DRAFT).order_by("name")
