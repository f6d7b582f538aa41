"""Answers: a reader's vote on a first showing, on a repeat and on a practice image, the reasons for a Fake answer,
and the rules they share (confidence when the study asks for it, one answer per showing, a different answer refused
unless the study allows changes).

A first showing is answered into ``Vote``, a repeat into ``RepeatVote`` and a practice image into ``PracticeVote``,
so Table 1 never counts a repeat and the reader's API cannot tell one from a first showing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from readerstudy.errors import ApplicationError, Conflict
from readerstudy.studies.models import Answer, Case, Membership, Study
from readerstudy.studies.services import StudyStateError

from . import reading_sql
from .models import (
    MARK_IMAGE_SIZE,
    FakeCue,
    FakeReason,
    Mark,
    Phase,
    PracticeVote,
    RepeatVote,
    SequenceSlot,
    StudyProtocol,
    Vote,
)
from .services import freeze_sequence, going_back_allowed, protocol_for
from .state import case_track, exposure_for, staircase_record


class VoteConflict(Conflict):
    """A different answer for an image the reader has already answered, in a study that does not allow changes; the
    answer carries the stored vote (``vote``, in the shape the API gives a vote)."""

    field = "answer"

    def __init__(self, stored: dict):
        super().__init__("You have already voted on this case; votes in this study are final.", extra={"vote": stored})


class ConfidenceRequired(ApplicationError):
    """A study that asks for confidence got an answer without one (the AUC needs every rating)."""

    field = "confidence"

    def __init__(self) -> None:
        super().__init__("This study asks for a confidence (1-5) with every answer; send `confidence` with the vote.")


def ensure_confidence(study: Study, confidence: int | None) -> None:
    """Refuse, before anything is stored, an answer without a confidence in a study that asks for one."""
    if study.ask_confidence and confidence is None:
        raise ConfidenceRequired()


class CaseNotInStudy(ApplicationError):
    """The case id does not name a case (nor a repeat or practice image) of the reader's study."""

    field = "case"

    def __init__(self, public_id: str):
        super().__init__("No such case in this study.")
        self.public_id = public_id


def _api_time(moment) -> str:
    """A moment as the API writes it (DRF's ISO 8601, UTC as ``Z``)."""
    return moment.isoformat().replace("+00:00", "Z")


def vote_payload(vote: Vote) -> dict:
    """A first showing's vote as the reader's API gives it."""
    return {"case": vote.case.public_id, "answer": vote.answer, "confidence": vote.confidence,
            "time_ms": vote.time_ms, "position": vote.position, "created_at": _api_time(vote.created_at),
            "updated_at": _api_time(vote.updated_at)}


@dataclass(frozen=True)
class VoteOutcome:
    vote: Vote
    created: bool
    changed: bool


def answer_changes(study: Study, protocol: StudyProtocol, stored, answer: str, confidence: int | None,
                   shown) -> bool:
    """The rule for an answer on an image already answered (first showing or repeat): the same answer again changes
    nothing (a confidence left out means the stored one); a different one is a ``VoteConflict`` (carrying ``shown()``,
    the stored answer as the API gives it) unless the study allows changes. True when the stored answer is to be
    changed."""
    if stored.answer == answer and (confidence is None or stored.confidence == confidence):
        return False
    if not going_back_allowed(study, protocol):
        if stored.answer == answer:
            return False  # a new confidence for a final answer: the answer stands as stored
        raise VoteConflict(shown())
    return True


def _ensure_open(study: Study) -> None:
    if study.status != Study.Status.OPEN:
        raise StudyStateError(f"The study is {study.get_status_display().lower()}, not open for reading.")


@dataclass(frozen=True)
class Answered:
    """An answer as the reader's API gives it back, and whether it was new."""

    payload: dict
    created: bool


def answer_cast(*, membership: Membership, protocol: StudyProtocol, shown_id: str, answer: str,
                confidence: int | None = None, time_ms: int | None = None, cues: list[int] | None = None,
                note: str | None = None, marks: list[dict] | None = None) -> Answered:
    """A reader's answer on the image shown under ``shown_id``: a first showing (the common case, tried first), else a
    repeat or a practice image of the reader's own sequence; ``CaseNotInStudy`` when it is none of these.

    Marks are checked alike everywhere (so a reader cannot tell a repeat by how its marks are taken) and stored for a
    first showing only: the analysis counts each case once, like Table 1."""
    try:
        outcome = vote_cast(membership=membership, protocol=protocol, case_public_id=shown_id, answer=answer,
                            confidence=confidence, time_ms=time_ms, cues=cues, note=note, marks=marks)
    except CaseNotInStudy:
        slot = own_slot(membership, shown_id)
        if slot is None:
            raise
    else:
        return Answered(vote_payload(outcome.vote), outcome.created)
    _ensure_open(membership.study)
    checked_marks(membership.study, protocol, answer, marks)
    if slot.phase == Phase.PRACTICE:
        result = practice_cast(membership, slot, protocol, answer=answer, confidence=confidence, time_ms=time_ms)
    else:
        checked_cues(membership.study, protocol, answer, cues, note)
        result = repeat_cast(membership, slot, protocol, answer=answer, confidence=confidence, time_ms=time_ms)
    return Answered(result.payload, result.created)


def stored_answer(membership: Membership, slot) -> Vote | RepeatVote:
    """The reader's stored answer on a study slot of their sequence (a ``state.Slot``): its repeat vote for a repeat,
    its vote for a first showing."""
    if slot.is_repeat:
        return RepeatVote.objects.filter(slot_id=slot.pk).first()
    return Vote.objects.filter(membership=membership, case_id=slot.case_id).order_by("pk").first()


def vote_cast(
    *,
    membership: Membership,
    case_public_id: str,
    answer: str,
    confidence: int | None = None,
    time_ms: int | None = None,
    cues: list[int] | None = None,
    note: str | None = None,
    protocol: StudyProtocol | None = None,
    marks: list[dict] | None = None,
) -> VoteOutcome:
    """Record a reader's answer for a case (its first showing).

    Idempotent: the same answer again returns the stored vote untouched. A different answer is a ``VoteConflict``
    unless the study allows changes, in which case the vote is updated. The vote's position is the case's 1-based
    index in the reader's frozen sequence. In a timed study the vote carries the exposure the image was shown for,
    and in an adaptive one it moves the reader's staircase; ``cues``/``note`` are the reasons for a Fake answer and
    ``marks`` (``{x, y, confidence?}``) the places that gave it away, stored with the vote in one transaction. The
    same answer again leaves the stored marks as they are; a changed answer replaces them.

    A new vote, the common case, costs one read (the case with its position in the reader's sequence) and one
    insert: the insert is tried first and the unique constraint tells a repeated vote from a new one.
    """
    study = membership.study
    _ensure_open(study)
    if answer not in Answer.values:
        raise ValueError(f"answer must be one of {Answer.values}")
    ensure_confidence(study, confidence)
    case, is_real, position = _case_with_position(membership, case_public_id)
    protocol = protocol if protocol is not None else protocol_for(study)
    reasons = checked_cues(study, protocol, answer, cues, note)
    placed = checked_marks(study, protocol, answer, marks)

    track = case_track(membership, protocol, case.pk)
    try:
        with transaction.atomic():
            vote = Vote.objects.create(
                membership=membership, case=case, answer=answer, confidence=confidence, time_ms=time_ms,
                position=position, exposure_ms=exposure_for(membership, protocol, track, case.pk),
            )
            reasons_store(vote, reasons, note)
            marks_store(vote, placed)
            membership_touch(membership)
    except IntegrityError:
        existing = Vote.objects.filter(membership=membership, case=case).select_related("case").first()
        if existing is None:
            raise  # not the one-vote-per-case constraint: a real error
    else:
        staircase_record(membership, protocol, track, (answer == Answer.REAL) == is_real)
        return VoteOutcome(vote=vote, created=True, changed=False)

    if not answer_changes(study, protocol, existing, answer, confidence, lambda: vote_payload(existing)):
        return VoteOutcome(vote=existing, created=False, changed=False)
    with transaction.atomic():
        existing.answer = answer
        existing.confidence = confidence
        if time_ms is not None:
            existing.time_ms = time_ms
        existing.save(update_fields=["answer", "confidence", "time_ms", "updated_at"])
        if answer == Answer.REAL:
            reasons_drop(existing)
        reasons_store(existing, reasons, note)
        Mark.objects.filter(vote=existing).delete()
        marks_store(existing, placed)
        membership_touch(membership)
    return VoteOutcome(vote=existing, created=False, changed=True)


def _case_with_position(membership: Membership, case_public_id: str) -> tuple[Case, bool, int]:
    """(the study's case with this public id, whether its source is real, the 1-based position of its first showing
    in the reader's sequence), in one statement; the sequence is frozen here if the case is not in it yet (a case
    added since). ``CaseNotInStudy`` when the study has no such case."""
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


# --- reasons for "fake" -----------------------------------------------------------------------------------------

class ReasonError(ApplicationError):
    """Reasons the study does not ask for, for a Real answer, or naming cues that are not the study's."""


def checked_cues(study: Study, protocol: StudyProtocol, answer: str, cue_ids: list[int] | None,
                 note: str | None) -> list[str] | None:
    """The labels of the ticked cues, or None when the reader gave no reasons; refuses reasons a study does not ask
    for, reasons for a Real answer, and cues that are not the study's."""
    if not cue_ids and not note:
        return None
    if not protocol.ask_fake_reasons:
        raise ReasonError("This study does not ask for reasons.", "cues")
    if answer != Answer.FAKE:
        raise ReasonError("Reasons are given for a Fake answer only.", "cues")
    labels = dict(FakeCue.objects.filter(study=study, pk__in=cue_ids or []).values_list("pk", "label"))
    unknown = [cue for cue in cue_ids or [] if cue not in labels]
    if unknown:
        raise ReasonError(f"No cue {unknown[0]} in this study.", "cues")
    return [labels[cue] for cue in dict.fromkeys(cue_ids or [])]


def reasons_drop(vote: Vote) -> None:
    FakeReason.objects.filter(vote=vote).delete()


def reasons_store(vote: Vote, labels: list[str] | None, note: str | None) -> None:
    if labels is None:
        return
    FakeReason.objects.update_or_create(vote=vote, defaults={"cues": labels, "note": (note or "")[:1000]})


# --- marks: where the image gave itself away ---------------------------------------------------------------------

class MarkError(ApplicationError):
    """Marks the study does not take: none asked for (or not after this answer), too many, outside the image, or a
    confidence missing where the study asks for one. Always names ``marks``."""

    field = "marks"

    def __init__(self, message: str) -> None:
        super().__init__(message, "marks")


@dataclass(frozen=True)
class PlacedMark:
    x: float
    y: float
    confidence: int | None


def checked_marks(study: Study, protocol: StudyProtocol, answer: str, marks: list[dict] | None) -> list[PlacedMark]:
    """The marks as they will be stored, or ``MarkError`` before anything is stored. ``marks``: dicts with ``x`` and
    ``y`` (the 224 px image's pixels, 0 <= x, y < 224) and ``confidence`` (1-5, required where the study asks for
    confidence, refused where it does not)."""
    if not marks:
        return []
    if not protocol.asks_marks(answer):
        if protocol.marks_mode == "off":
            raise MarkError("This study does not ask for marks; send the answer without `marks`.")
        raise MarkError("This study asks for marks after a Fake answer only; send this Real answer without `marks`.")
    if len(marks) > protocol.max_marks:
        raise MarkError(f"{len(marks)} marks sent; this study takes at most {protocol.max_marks} per image.")
    placed = []
    for number, mark in enumerate(marks, start=1):
        x, y, confidence = mark.get("x"), mark.get("y"), mark.get("confidence")
        if x is None or y is None or not (0 <= x < MARK_IMAGE_SIZE and 0 <= y < MARK_IMAGE_SIZE):
            raise MarkError(f"Mark {number} at ({x}, {y}) is outside the image: x and y are the 224 px image's "
                            f"pixels, from 0 to under {MARK_IMAGE_SIZE}.")
        if study.ask_confidence and confidence is None:
            raise MarkError(f"Mark {number} has no confidence: this study asks for a confidence (1-5) with every "
                            "mark.")
        if not study.ask_confidence and confidence is not None:
            raise MarkError(f"Mark {number} has a confidence, but this study does not ask for one; leave it out.")
        placed.append(PlacedMark(float(x), float(y), confidence))
    return placed


def marks_store(vote: Vote, placed: list[PlacedMark]) -> None:
    """One insert for all of a vote's marks (none when there are none: a study without marks costs nothing)."""
    if placed:
        Mark.objects.bulk_create(Mark(vote=vote, x=mark.x, y=mark.y, confidence=mark.confidence) for mark in placed)


# --- answers on repeats and practice images ---------------------------------------------------------------------

@dataclass(frozen=True)
class SlotAnswer:
    payload: dict
    created: bool


def own_slot(membership: Membership, public_id: str) -> SequenceSlot | None:
    return (SequenceSlot.objects.filter(membership=membership, public_id=public_id)
            .select_related("practice_image__source", "case__source").first())


def repeat_payload(slot: SequenceSlot, vote: RepeatVote) -> dict:
    """The same shape as a first showing's vote, under the repeat's own id."""
    return {"case": slot.public_id, "answer": vote.answer, "confidence": vote.confidence, "time_ms": vote.time_ms,
            "position": slot.position, "created_at": _api_time(vote.created_at),
            "updated_at": _api_time(vote.updated_at)}


def repeat_cast(membership: Membership, slot: SequenceSlot, protocol: StudyProtocol, *, answer: str,
                confidence: int | None, time_ms: int | None) -> SlotAnswer:
    """A repeat's answer, with the same rules as a first showing's: same again is 200, a change 409 unless allowed."""
    study = membership.study
    ensure_confidence(study, confidence)
    existing = RepeatVote.objects.filter(slot=slot).first()
    if existing is None:
        source = slot.case.source
        track = case_track(membership, protocol, slot.case_id)
        exposure = exposure_for(membership, protocol, track, slot.case_id)
        try:
            with transaction.atomic():
                vote = RepeatVote.objects.create(slot=slot, membership=membership, case_id=slot.case_id,
                                                 answer=answer, confidence=confidence, time_ms=time_ms,
                                                 exposure_ms=exposure)
                membership_touch(membership)
        except IntegrityError:
            existing = RepeatVote.objects.get(slot=slot)
        else:
            staircase_record(membership, protocol, track, (answer == Answer.REAL) == source.is_real)
            return SlotAnswer(repeat_payload(slot, vote), created=True)
    if not answer_changes(study, protocol, existing, answer, confidence,
                          lambda: repeat_payload(slot, existing)):
        return SlotAnswer(repeat_payload(slot, existing), created=False)
    existing.answer, existing.confidence = answer, confidence
    if time_ms is not None:
        existing.time_ms = time_ms
    existing.save(update_fields=["answer", "confidence", "time_ms", "updated_at"])
    membership_touch(membership)
    return SlotAnswer(repeat_payload(slot, existing), created=False)


def practice_cast(membership: Membership, slot: SequenceSlot, protocol: StudyProtocol, *, answer: str,
                  confidence: int | None, time_ms: int | None) -> SlotAnswer:
    """A practice answer (the first one stands); the truth comes back only when the study gives practice feedback."""
    ensure_confidence(membership.study, confidence)
    try:
        with transaction.atomic():
            vote, created = PracticeVote.objects.get_or_create(
                slot=slot, defaults={"membership": membership, "answer": answer, "confidence": confidence,
                                     "time_ms": time_ms})
    except IntegrityError:
        vote, created = PracticeVote.objects.get(slot=slot), False
    membership_touch(membership)
    payload = {"case": slot.public_id, "answer": vote.answer, "confidence": vote.confidence,
               "time_ms": vote.time_ms, "position": slot.position, "practice": True}
    if protocol.practice_feedback:
        truth = "real" if slot.practice_image.source.is_real else "fake"
        payload.update(truth=truth, correct=vote.answer == truth)
    return SlotAnswer(payload, created=created)
