"""Reads that decide who may see what: a study is found only for its members or for staff; others get 404."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Subquery
from django.http import Http404

from .models import Case, Membership, Study, Vote
from .sequence import reader_sequence


def membership_for(user, slug: str) -> Membership:
    """The caller's membership in the study, or 404: a non-member must not learn that the study exists."""
    if not user.is_authenticated:
        raise Http404("No such study.")
    membership = (
        Membership.objects.select_related("study").filter(study__slug=slug, user=user).order_by("pk").first()
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


@dataclass(frozen=True)
class ReadingState:
    """Where a reader stands: the sequence of case ids, the voted ones, and the first unread position (1-based)."""

    sequence: list[int]
    voted: set[int]

    @property
    def total(self) -> int:
        return len(self.sequence)

    @property
    def answered(self) -> int:
        return len(self.voted)

    def first_unread_index(self, start: int = 0) -> int | None:
        for index in range(start, len(self.sequence)):
            if self.sequence[index] not in self.voted:
                return index
        return None


def reading_state(membership: Membership) -> ReadingState:
    voted = set(Vote.objects.filter(membership=membership).order_by().values_list("case_id", flat=True))
    return ReadingState(sequence=reader_sequence(membership), voted=voted)


def cases_by_pk(pks: list[int]) -> dict[int, Case]:
    return {case.pk: case for case in Case.objects.filter(pk__in=pks).select_related("finding").order_by()}


def study_progress(membership: Membership) -> dict:
    total = Case.objects.filter(study_id=membership.study_id).count()
    answered = Vote.objects.filter(membership=membership).count()
    return {"answered": answered, "total": total, "done": total > 0 and answered >= total}


def staff_studies():
    return Study.objects.annotate(case_count=Count("cases", distinct=True),
                                  reader_count=Count("memberships", distinct=True)).order_by("-created_at")


def reader_memberships_with_progress(user) -> list[Membership]:
    """The reader's memberships in studies that are not drafts, each with ``answered`` and ``total`` counts."""
    total_cases = Case.objects.filter(study=OuterRef("study")).order_by().values("study").annotate(n=Count("pk"))
    return list(
        Membership.objects.filter(user=user)
        .exclude(study__status=Study.Status.DRAFT)
        .select_related("study")
        .annotate(answered=Count("votes"), total=Subquery(total_cases.values("n")))
        .order_by("study__name")
    )


def resume_study_slug(user) -> str | None:
    """The one open study a reader has left to finish, if there is exactly one (so login can resume it)."""
    unfinished = [m for m in reader_memberships_with_progress(user)
                  if m.study.is_open and (m.total or 0) > m.answered]
    return unfinished[0].study.slug if len(unfinished) == 1 else None
