"""Excluding a case from a study (and taking the exclusion back) while the study is a draft, each change audited.

An excluded case stays stored and visible to admins; no reader's sequence holds it, no reader can fetch or vote on it,
and no result counts it (``Case.objects.included()`` everywhere a reader or a result reads cases). Only a draft
allows it: once readers have sequences and votes, taking a case out would change what they were shown.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from readerstudy.studies.models import Case, Study
from readerstudy.studies.services import audit

MAX_REASON = Case._meta.get_field("exclusion_reason").max_length


class ExclusionRefused(Exception):
    """Why an exclusion (or its undoing) was refused, in words for the admin."""


def _locked_case(case: Case) -> Case:
    """The case and its study read again under a row lock, so a concurrent open or exclusion cannot slip between the
    check and the write."""
    locked = Case.objects.select_for_update().select_related("study").get(pk=case.pk)
    Study.objects.select_for_update().filter(pk=locked.study_id).first()
    return locked


def _require_draft(study: Study, action: str) -> None:
    if study.status != Study.Status.DRAFT:
        raise ExclusionRefused(f"Cases can be {action} only while the study is a draft; this one is "
                               f"{study.get_status_display().lower()}.")


def case_exclude(*, case: Case, actor, reason: str) -> Case:
    """Exclude ``case`` with ``reason`` (required, at most 500 characters), audited as ``case excluded``."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ExclusionRefused("Give a reason for excluding the case (it is kept in the audit trail and the exports).")
    if len(reason) > MAX_REASON:
        raise ExclusionRefused(f"The reason is {len(reason)} characters long; at most {MAX_REASON}.")
    with transaction.atomic():
        case = _locked_case(case)
        _require_draft(case.study, "excluded")
        if case.is_excluded:
            raise ExclusionRefused(f"Case {case.public_id} is already excluded ({case.exclusion_reason}).")
        case.excluded_at, case.exclusion_reason, case.excluded_by = timezone.now(), reason, actor
        case.save(update_fields=["excluded_at", "exclusion_reason", "excluded_by"])
        audit(case.study, actor, "case excluded", case.public_id, "", reason)
    return case


def case_include(*, case: Case, actor) -> Case:
    """Take an exclusion back (the case is read and counted again), audited as ``case included``."""
    with transaction.atomic():
        case = _locked_case(case)
        _require_draft(case.study, "included again")
        if not case.is_excluded:
            raise ExclusionRefused(f"Case {case.public_id} is not excluded.")
        old_reason = case.exclusion_reason
        case.excluded_at, case.exclusion_reason, case.excluded_by = None, "", None
        case.save(update_fields=["excluded_at", "exclusion_reason", "excluded_by"])
        audit(case.study, actor, "case included", case.public_id, old_reason, "")
    return case
