"""Reads that decide who may see what: a study is found only for its members or for its admins; others get 404."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from .models import AuditEntry, Case, Invitation, Membership, Study, StudyAdministrator
from .operator import operator_access
from .permissions import ADMINISTER_STUDY, administered_by, caller_is_admin, may_administer


def study_for_staff(user, slug: str) -> Study:
    """The study for one of its admins, or 404 for anyone else (other studies' admins included): THE check behind
    every staff page, API operation and export (``permissions.ADMINISTER_STUDY``). One query.

    A superuser reaches every study (operators); outside the studies they administer the access is audited and the
    response says so (``operator.operator_access``)."""
    if not may_administer(user):
        raise Http404("No such study.")
    study = Study.objects.annotate(caller_is_admin=caller_is_admin(user)).filter(slug=slug).first()
    if study is None:
        raise Http404("No such study.")
    study.admin_checked_for = user.pk
    if not user.has_perm(ADMINISTER_STUDY, study):
        raise Http404("No such study.")
    if not study.caller_is_admin:
        operator_access(user, study)
    return study


def studies_for_reader(user):
    return Study.objects.filter(memberships__user=user).exclude(status=Study.Status.DRAFT).order_by("name")


def staff_studies(user):
    """The studies the user administers (a superuser: every study, each with ``caller_is_admin`` telling which are
    their own), with case and reader counts: a fixed number of queries however many studies there are."""
    cases = count_of(Case.objects.filter(study=OuterRef("pk")), "study")
    readers = count_of(Membership.objects.filter(study=OuterRef("pk")), "study")
    return (administered_by(user, Study.objects.all())
            .annotate(case_count=Coalesce(cases, 0), reader_count=Coalesce(readers, 0),
                      caller_is_admin=caller_is_admin(user))
            .order_by("-created_at"))


def studies_for_user(user):
    """The study list of the API: the studies the user reads in (not drafts) and those they administer."""
    read = Q(memberships__user=user) & ~Q(status=Study.Status.DRAFT)
    if user.is_superuser:
        return Study.objects.order_by("name")
    if may_administer(user):
        administered = Q(pk__in=StudyAdministrator.objects.filter(user=user).values("study"))
        return Study.objects.filter(read | administered).distinct().order_by("name")
    return Study.objects.filter(read).distinct().order_by("name")


def count_of(queryset, by: str) -> Subquery:
    """A correlated count of ``queryset``'s rows, grouped by ``by``, for use in an annotation."""
    return Subquery(queryset.order_by().values(by).annotate(n=Count("pk")).values("n")[:1])


def account_named(username: str):
    """The account with this username, or None."""
    return get_user_model().objects.filter(username=username).first()


def audit_trail(study: Study, limit: int = 500) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(study=study).select_related("actor")[:limit])


def listed_invitations(study: Study) -> list[Invitation]:
    """The study's links that were not withdrawn, newest first: the open ones, the expired and the used (with their
    reader). A withdrawn link is gone from every list."""
    return list(Invitation.objects.filter(study=study).not_withdrawn().select_related("used_by")
                .order_by("-created_at"))


def usable_invitations(study: Study):
    """The study's links that still let someone join (unused, not withdrawn, not expired), newest first."""
    return Invitation.objects.filter(study=study).usable(timezone.now()).order_by("-created_at")
