"""Reads that decide who may see what: a study is found only for its members or for its admins; others get 404."""
from __future__ import annotations

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from . import reading_sql
from .models import Case, Membership, Study, StudyAdministrator, Vote
from .operator import operator_access
from .permissions import ADMINISTER_STUDY, administered_by, caller_is_admin, may_administer


def membership_for(user, slug: str) -> Membership:
    """The caller's membership in the study (with its study and the study's protocol, in one query), or 404: a
    non-member must not learn that the study exists."""
    if not user.is_authenticated:
        raise Http404("No such study.")
    # One plain statement (reading_sql): this runs in every reader request, and the ORM spent longer compiling the
    # three-table join than the database spent answering it. ``study.protocol_as_loaded`` is for protocol_for.
    membership = reading_sql.membership_in(slug, user.pk)
    if membership is None:
        raise Http404("No such study.")
    return membership


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


def reading_state(membership: Membership):
    """Where a reader stands in their frozen sequence (see ``readerstudy.protocol.reading``)."""
    from readerstudy.protocol.reading import reading_state as protocol_reading_state

    return protocol_reading_state(membership)


def cases_by_pk(pks: list[int]) -> dict[int, Case]:
    return {case.pk: case for case in Case.objects.filter(pk__in=pks).select_related("finding", "source").order_by()}


def study_progress(membership: Membership) -> dict:
    """Answered and total images of the study phase (repeats count as images; practice does not)."""
    state = reading_state(membership)
    total, answered = state.total, state.answered
    return {"answered": answered, "total": total, "done": total > 0 and answered >= total}


def staff_studies(user):
    """The studies the user administers (a superuser: every study, each with ``caller_is_admin`` telling which are
    their own), with case and reader counts: a fixed number of queries however many studies there are."""
    cases = _count(Case.objects.filter(study=OuterRef("pk")), "study")
    readers = _count(Membership.objects.filter(study=OuterRef("pk")), "study")
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


def _count(queryset, by: str) -> Subquery:
    """A correlated count of ``queryset``'s rows, grouped by ``by``, for use in an annotation."""
    return Subquery(queryset.order_by().values(by).annotate(n=Count("pk")).values("n")[:1])


def reader_memberships_with_progress(user) -> list[Membership]:
    """The reader's memberships in studies that are not drafts, each with ``answered`` and ``total`` counts (the
    frozen sequence's length once there is one, the number of cases before)."""
    from readerstudy.protocol.models import Phase, RepeatVote, SequenceSlot

    total_cases = _count(Case.objects.filter(study=OuterRef("study")).included(), "study")
    total_slots = _count(SequenceSlot.objects.filter(membership=OuterRef("pk"), phase=Phase.STUDY), "membership")
    own_votes = _count(Vote.objects.filter(membership=OuterRef("pk")), "membership")
    repeat_votes = _count(RepeatVote.objects.filter(membership=OuterRef("pk")), "membership")
    return list(
        Membership.objects.filter(user=user)
        .exclude(study__status=Study.Status.DRAFT)
        .select_related("study")
        .annotate(answered=Coalesce(own_votes, 0) + Coalesce(repeat_votes, 0),
                  total=Coalesce(total_slots, total_cases, 0))
        .order_by("study__name")
    )


def resume_study_slug(user) -> str | None:
    """The one open study a reader has left to finish, if there is exactly one (so login can resume it)."""
    unfinished = [m for m in reader_memberships_with_progress(user)
                  if m.study.is_open and (m.total or 0) > m.answered]
    return unfinished[0].study.slug if len(unfinished) == 1 else None


def account_named(username: str):
    """The account with this username, or None."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=username).first()
