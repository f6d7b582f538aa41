"""Writes of the reader study: creating and opening studies, adding readers, storing cases and casting votes.

Every function here either does all of its work or none of it (one transaction), and leans on the database
constraints for the races: two clicks of the same vote, two admins adding readers at once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from . import reading_sql
from .blinding import blinded_bytes
from .models import Answer, Case, Finding, Membership, Source, Study, StudyAdministrator, Vote


class StudyStateError(Exception):
    """A study is not in a state that allows the operation (for example a vote on a closed study)."""

    def __init__(self, message: str, field: str = "study"):
        super().__init__(message)
        self.field = field


class VoteConflict(Exception):
    """A different answer for a case the reader has already voted on, in a study that does not allow changes."""

    def __init__(self, vote: Vote):
        super().__init__("You have already voted on this case; votes in this study are final.")
        self.vote = vote


class ConfidenceRequired(ValueError):
    """A study that asks for confidence got an answer without one (the AUC needs every rating)."""

    field = "confidence"

    def __init__(self) -> None:
        super().__init__("This study asks for a confidence (1-5) with every answer; send `confidence` with the vote.")


def ensure_confidence(study: Study, confidence: int | None) -> None:
    """Refuse, before anything is stored, an answer without a confidence in a study that asks for one."""
    if study.ask_confidence and confidence is None:
        raise ConfidenceRequired()


class CaseNotInStudy(Exception):
    """The case id does not name a case of the reader's study."""


@dataclass(frozen=True)
class VoteOutcome:
    vote: Vote
    created: bool
    changed: bool


def study_create(*, slug: str, name: str, description: str = "", created_by=None, **options) -> Study:
    """A draft study over all findings and all sources; ``options`` are the study's reading settings. Its creator
    (when there is one) is its first admin."""
    with transaction.atomic():
        study = Study.objects.create(slug=slug, name=name, description=description, created_by=created_by, **options)
        study.findings.set(Finding.objects.all())
        study.sources.set(Source.objects.all())
        if created_by is not None:
            study_admin_grant(study=study, user=created_by, actor=created_by)
    return study


class LastAdmin(Exception):
    """Removing this admin would leave the study with none."""


def study_admin_grant(*, study: Study, user, actor) -> tuple[StudyAdministrator, bool]:
    """Make ``user`` an admin of ``study`` (audited); returns (role, created). Study admins are staff accounts (staff
    alone administers nothing), so the account is marked staff if it is not yet."""
    from readerstudy.protocol.services import audit

    with transaction.atomic():
        role, created = StudyAdministrator.objects.get_or_create(
            study=study, user=user, defaults={"granted_by": actor if getattr(actor, "pk", None) else None})
        if created:
            if not user.is_staff:
                type(user).objects.filter(pk=user.pk).update(is_staff=True)
                user.is_staff = True
            audit(study, actor, "admin_granted", field="admin", new=user.get_username())
    return role, created


def study_admin_revoke(*, study: Study, user, actor) -> bool:
    """Remove ``user``'s admin rights on ``study`` (audited); False when they had none. The last admin cannot be
    removed (``LastAdmin``): the study's rows are locked, so two admins removing each other at once cannot both
    succeed."""
    from readerstudy.protocol.services import audit

    with transaction.atomic():
        admins = list(StudyAdministrator.objects.select_for_update().filter(study=study).order_by("pk"))
        role = next((admin for admin in admins if admin.user_id == user.pk), None)
        if role is None:
            return False
        if len(admins) == 1:
            raise LastAdmin(f"{user.get_username()} is the last admin of {study.slug}: add another admin first.")
        role.delete()
        audit(study, actor, "admin_revoked", field="admin", old=user.get_username())
    return True


def reader_add(*, study: Study, username: str, password: str | None = None) -> tuple[Membership, bool]:
    """Add a reader to a study, creating the account if it does not exist; returns (membership, created).

    The pseudonym number is the next free one in the study. Two admins adding readers at the same moment may pick the
    same number; the unique constraint refuses the second, which then retries with the next number.
    """
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        try:
            with transaction.atomic():
                user = user_model.objects.create_user(username, password=password)
                if password is None:
                    user.set_unusable_password()
                    user.save(update_fields=["password"])
        except IntegrityError:
            user = user_model.objects.get(username=username)

    for _attempt in range(20):
        existing = Membership.objects.filter(study=study, user=user).first()
        if existing is not None:
            return existing, False
        number = (Membership.objects.filter(study=study).aggregate(top=Max("number"))["top"] or 0) + 1
        try:
            with transaction.atomic():
                membership = Membership.objects.create(study=study, user=user, number=number)
        except IntegrityError:
            continue  # someone took this number (or added this user) meanwhile: look again
        if study.status != Study.Status.DRAFT:
            _freeze(membership)
        return membership, True
    raise RuntimeError(f"Could not add {username} to {study.slug}: too many concurrent additions.")


def study_open(study: Study) -> Study:
    """Open a study for reading. A study with nothing to read, or with generated images and no real ones to compare
    them with, is refused with a clear message."""
    if study.status == Study.Status.OPEN:
        return study
    cases = Case.objects.filter(study=study).included()
    if not cases.exists():
        raise StudyStateError("The study has no cases yet: import images before opening it.", field="cases")
    if cases.filter(source__is_real=False).exists() and not cases.filter(source__is_real=True).exists():
        raise StudyStateError(
            "The study has generated cases but no real ones to compare them with: add real images before opening it.",
            field="cases",
        )
    study.status = Study.Status.OPEN
    study.opened_at = timezone.now()
    study.save(update_fields=["status", "opened_at"])
    for membership in Membership.objects.filter(study=study).select_related("study"):
        _freeze(membership)
    return study


def _freeze(membership: Membership) -> None:
    """Store the reader's sequence now (the study opened, or a reader joined an open one), so that the first reading
    request does not pay for it and cases imported later are appended rather than reshuffled."""
    from readerstudy.protocol.services import freeze_sequence

    freeze_sequence(membership)


def study_close(study: Study) -> Study:
    study.status = Study.Status.CLOSED
    study.closed_at = timezone.now()
    study.save(update_fields=["status", "closed_at"])
    return study


def case_create_from_png(
    *, study: Study, finding: Finding, source: Source, png_bytes: bytes, provenance: dict | None = None, batch=None
) -> Case:
    """Store one normalised PNG as a case, in the blinded form readers receive (already so for a batch's images):
    the stored bytes' hash guards against the same image twice in a study (same pixels, same bytes), and the file
    gets a random name so nothing about its origin reaches storage or URLs."""
    png_bytes = blinded_bytes(png_bytes)
    case = Case(
        study=study,
        finding=finding,
        source=source,
        batch=batch,
        pixel_sha256=hashlib.sha256(png_bytes).hexdigest(),
        provenance=provenance or {},
    )
    case.image.save("case.png", ContentFile(png_bytes), save=False)
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        case.image.delete(save=False)
        raise
    return case


def _ensure_open(study: Study) -> None:
    if study.status != Study.Status.OPEN:
        raise StudyStateError(f"The study is {study.get_status_display().lower()}, not open for reading.")


def vote_cast(
    *,
    membership: Membership,
    case_public_id: str,
    answer: str,
    confidence: int | None = None,
    time_ms: int | None = None,
    cues: list[int] | None = None,
    note: str | None = None,
) -> VoteOutcome:
    """Record a reader's answer for a case (its first showing).

    Idempotent: the same answer again returns the stored vote untouched. A different answer is a ``VoteConflict``
    unless the study allows changes, in which case the vote is updated. The vote's position is the case's 1-based
    index in the reader's frozen sequence. In a timed study the vote carries the exposure the image was shown for,
    and in an adaptive one it moves the reader's staircase; ``cues``/``note`` are the reasons for a Fake answer.

    A new vote, the common case, costs one read (the case with its position in the reader's sequence) and one
    insert: the insert is tried first and the unique constraint tells a repeated vote from a new one.
    """
    from readerstudy.protocol import reading
    from readerstudy.protocol.services import protocol_for

    study = membership.study
    _ensure_open(study)
    if answer not in Answer.values:
        raise ValueError(f"answer must be one of {Answer.values}")
    ensure_confidence(study, confidence)
    case, is_real, position = _case_with_position(membership, case_public_id)
    protocol = protocol_for(study)
    reasons = reading.checked_cues(study, protocol, answer, cues, note)

    track = reading.case_track(membership, protocol, case.pk, case.source_id, is_real)
    try:
        with transaction.atomic():
            vote = Vote.objects.create(
                membership=membership, case=case, answer=answer, confidence=confidence, time_ms=time_ms,
                position=position, exposure_ms=reading.exposure_for(membership, protocol, track),
            )
            reading.reasons_store(vote, reasons, note)
            membership_touch(membership)
    except IntegrityError:
        existing = Vote.objects.filter(membership=membership, case=case).select_related("case").first()
        if existing is None:
            raise  # not the one-vote-per-case constraint: a real error
    else:
        reading.staircase_record(membership, protocol, track, (answer == Answer.REAL) == is_real)
        return VoteOutcome(vote=vote, created=True, changed=False)

    same = existing.answer == answer and (confidence is None or existing.confidence == confidence)
    if same or (existing.answer == answer and not study.allow_vote_changes):
        return VoteOutcome(vote=existing, created=False, changed=False)
    if not study.allow_vote_changes:
        raise VoteConflict(existing)
    with transaction.atomic():
        existing.answer = answer
        existing.confidence = confidence
        if time_ms is not None:
            existing.time_ms = time_ms
        existing.save(update_fields=["answer", "confidence", "time_ms", "updated_at"])
        if answer == Answer.REAL:
            reading.reasons_drop(existing)
        reading.reasons_store(existing, reasons, note)
        membership_touch(membership)
    return VoteOutcome(vote=existing, created=False, changed=True)


def _case_with_position(membership: Membership, case_public_id: str) -> tuple[Case, bool, int]:
    """(the study's case with this public id, whether its source is real, the 1-based position of its first showing
    in the reader's sequence), in one statement; the sequence is frozen here if the case is not in it yet (a case
    added since). ``CaseNotInStudy`` when the study has no such case."""
    from readerstudy.protocol.services import freeze_sequence

    found = reading_sql.case_for_vote(membership.pk, membership.study_id, case_public_id)
    if found is None:
        raise CaseNotInStudy(case_public_id)
    if found.position is None:
        freeze_sequence(membership)
        found = reading_sql.case_for_vote(membership.pk, membership.study_id, case_public_id)
    case = Case.from_db(None, ["id", "study_id", "public_id", "source_id"],
                        [found.pk, membership.study_id, found.public_id, found.source_id])
    return case, found.source_is_real, found.position


# Last activity is for the admins' progress page, to the minute: refreshing it on every vote would add a write to
# the hottest request for nothing.
ACTIVITY_RESOLUTION = timedelta(seconds=60)


def membership_touch(membership: Membership) -> None:
    """Note that the reader is active now (at most once a minute)."""
    now = timezone.now()
    if membership.last_activity_at is not None and now - membership.last_activity_at < ACTIVITY_RESOLUTION:
        return
    Membership.objects.filter(pk=membership.pk).update(last_activity_at=now)
    membership.last_activity_at = now
