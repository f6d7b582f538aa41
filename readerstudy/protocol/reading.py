"""Reading through a frozen sequence: where a reader stands, what each slot shows under which ids, the exposure of a
timed study, and answers on repeats and practice images.

A first showing is served under its case's own ids and answered into ``studies.Vote``; a repeat or a practice image
under ids of its own slot, answered into ``RepeatVote`` / ``PracticeVote``, so the reader's API cannot tell a repeat
from a first showing and Table 1 never counts one.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from django.db import IntegrityError, transaction
from django.db.models import Count, Max

from readerstudy.studies import reading_sql
from readerstudy.studies.models import Answer, Case, Membership, Study, Vote
from readerstudy.studies.services import ensure_confidence, membership_touch

from . import sequence as derive
from . import services
from .models import (
    ExposureMode,
    FakeCue,
    FakeReason,
    Phase,
    PracticeVote,
    RepeatVote,
    SequenceSlot,
    StaircaseTrack,
    StudyProtocol,
)
from .staircase import Staircase, staircase_next


@dataclass(frozen=True)
class Slot:
    pk: int | None
    phase: str
    case_id: int | None
    practice_image_id: int | None
    is_repeat: bool
    own_public_id: str | None
    own_image_token: str | None
    case_public_id: str | None = None  # the case's own ids (never change), so a first showing needs no case query
    case_image_token: str | None = None


@dataclass(frozen=True)
class ReadingState:
    """A reader's practice slots and study slots in order, and which of them are answered."""

    practice: tuple[Slot, ...]
    sequence: tuple[Slot, ...]
    answered_slots: frozenset

    @property
    def total(self) -> int:
        return len(self.sequence)

    @property
    def answered(self) -> int:
        """Answered study slots: every answered slot but the (few) practice ones."""
        return len(self.answered_slots) - sum(1 for slot in self.practice if slot.pk in self.answered_slots)

    def is_answered(self, slot: Slot) -> bool:
        return slot.pk in self.answered_slots

    def first_unread_index(self, start: int = 0) -> int | None:
        for index in range(start, len(self.sequence)):
            if self.sequence[index].pk not in self.answered_slots:
                return index
        return None

    def first_unread_practice(self) -> int | None:
        for index, slot in enumerate(self.practice):
            if not self.is_answered(slot):
                return index
        return None


@dataclass(frozen=True)
class SlotTable:
    """A reader's stored slots, arranged once per process for the questions every reading request asks."""

    practice: tuple[Slot, ...]
    sequence: tuple[Slot, ...]
    first_showing: dict[int, int]  # case id -> the pk of the slot that shows it first
    has_repeats: bool

    @classmethod
    def of(cls, slots: tuple[Slot, ...]) -> SlotTable:
        sequence = tuple(slot for slot in slots if slot.phase == Phase.STUDY)
        return cls(practice=tuple(slot for slot in slots if slot.phase == Phase.PRACTICE), sequence=sequence,
                   first_showing={slot.case_id: slot.pk for slot in sequence if not slot.is_repeat},
                   has_repeats=any(slot.is_repeat for slot in sequence))


_EMPTY_TABLE = SlotTable((), (), {}, False)
_SLOT_FIELDS = ("pk", "phase", "case_id", "practice_image_id", "is_repeat", "public_id", "image_token",
                "case__public_id", "case__image_token")


def _fingerprint(membership: Membership) -> tuple[int, int | None, int]:
    """(stored slots, largest slot id, cases in the study), in one statement."""
    return reading_sql.sequence_fingerprint(membership.pk, membership.study_id)


def _load_slots(membership: Membership, count: int, top: int | None) -> SlotTable:
    """The reader's slots, read through a per-process cache keyed by a fingerprint of the stored rows (count and
    largest id: freezing, appending, resetting or re-deriving all change it), so a request reads no slot rows at
    all. The seed is part of the key, so a test database that reuses ids cannot serve another reader's rows."""
    if not count:
        return _EMPTY_TABLE
    return _slots(membership.pk, membership.order_seed, count, top)


@lru_cache(maxsize=2048)
def _slots(membership_id: int, seed: int, count: int, top: int) -> SlotTable:
    rows = (SequenceSlot.objects.filter(membership_id=membership_id).order_by("phase", "position")
            .values_list(*_SLOT_FIELDS))
    return SlotTable.of(tuple(Slot(*row) for row in rows))


def reading_state(membership: Membership) -> ReadingState:
    """The reader's state; the sequence is frozen at the first access to a study that is not a draft."""
    if membership.study.status == Study.Status.DRAFT:
        protocol = services.protocol_for(membership.study)
        order = services.derived_slots(membership, protocol, services.case_keys(membership.study_id))
        sequence = tuple(Slot(None, Phase.STUDY, s.case_id, None, s.is_repeat, None, None) for s in order
                         if s.phase == Phase.STUDY)
        return ReadingState(practice=(), sequence=sequence, answered_slots=frozenset())
    count, top, cases = _fingerprint(membership)
    table = _load_slots(membership, count, top)
    if not table.sequence or cases != len(table.first_showing):
        services.freeze_sequence(membership)
        count, top, _cases = _fingerprint(membership)
        table = _load_slots(membership, count, top)
    first_showing = table.first_showing
    answered = {first_showing[case_id] for case_id in reading_sql.voted_case_ids(membership.pk)
                if case_id in first_showing}
    if table.has_repeats:
        answered |= set(RepeatVote.objects.filter(membership=membership).values_list("slot_id", flat=True))
    if table.practice:
        answered |= set(PracticeVote.objects.filter(membership=membership).values_list("slot_id", flat=True))
    return ReadingState(practice=table.practice, sequence=table.sequence, answered_slots=frozenset(answered))


# --- timed exposure ---------------------------------------------------------------------------------------------
#
# Adaptive mode runs one staircase per reader and generator. A fake image moves its generator's staircase; a real
# image rides the staircase it was dealt by a seeded, balanced draw (``sequence.real_image_tracks``): never by its
# position, which a script sees, so every staircase holds the study's share of real images and an exposure level says
# nothing about whether the image on it is real.

def case_tracks(membership: Membership) -> dict[int, int]:
    """Case id -> the staircase (a generator's source id) its image rides for this reader."""
    count, top = (Case.objects.filter(study_id=membership.study_id).included().order_by()
                  .aggregate(n=Count("pk"), top=Max("pk")).values())
    return _case_tracks(membership.study_id, membership.order_seed, count, top)


@lru_cache(maxsize=256)
def _case_tracks(study_id: int, seed: int, count: int, top: int | None) -> dict[int, int]:
    """Cached per process, keyed by the seed and a fingerprint of the study's cases (count and largest id)."""
    rows = Case.objects.filter(study_id=study_id).included().values_list("pk", "source_id", "source__is_real")
    tracks = {pk: source for pk, source, is_real in rows if not is_real}
    per_generator = Counter(tracks.values())
    reals = [pk for pk, _source, is_real in rows if is_real]
    return {**tracks, **derive.real_image_tracks(reals, dict(per_generator), seed)}


def case_track(membership: Membership, protocol: StudyProtocol, case_id: int, source_id: int,
               is_real: bool) -> int | None:
    """The staircase of this case's image in an adaptive study (None otherwise, and for a real image in a study
    without generated ones)."""
    if protocol.exposure_mode != ExposureMode.ADAPTIVE:
        return None
    if not is_real:
        return source_id
    return case_tracks(membership).get(case_id)


def exposure_for(membership: Membership, protocol: StudyProtocol, track_id: int | None) -> int | None:
    """How long an image on staircase ``track_id`` is shown (ms), or None when the study is not timed. Practice
    images (``track_id`` None) use the starting exposure."""
    if protocol.exposure_mode == ExposureMode.OFF:
        return None
    if protocol.exposure_mode == ExposureMode.FIXED or track_id is None:
        return protocol.exposure_ms
    level = StaircaseTrack.objects.filter(membership=membership, source_id=track_id).values_list(
        "level_ms", flat=True).first()
    return level if level is not None else protocol.exposure_ms


def staircase_record(membership: Membership, protocol: StudyProtocol, track_id: int | None, correct: bool) -> None:
    """Move the reader's staircase after an answer (adaptive studies only)."""
    if protocol.exposure_mode != ExposureMode.ADAPTIVE or track_id is None:
        return
    with transaction.atomic():
        track, _ = StaircaseTrack.objects.select_for_update().get_or_create(
            membership=membership, source_id=track_id, defaults={"level_ms": protocol.exposure_ms})
        state = staircase_next(
            Staircase(track.level_ms, track.correct_run, track.direction, tuple(track.reversals), track.trials),
            correct, down=protocol.staircase_down, factor=float(protocol.staircase_factor))
        track.level_ms, track.correct_run, track.direction = state.level_ms, state.correct_run, state.direction
        track.reversals, track.trials = list(state.reversals), state.trials
        track.save()


# --- reasons for "fake" -----------------------------------------------------------------------------------------

class ReasonError(Exception):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


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


# --- answers on repeats and practice images ---------------------------------------------------------------------

class SlotNotFound(Exception):
    pass


@dataclass(frozen=True)
class SlotAnswer:
    payload: dict
    created: bool
    conflict: bool = False


def own_slot(membership: Membership, public_id: str) -> SequenceSlot | None:
    return (SequenceSlot.objects.filter(membership=membership, public_id=public_id)
            .select_related("practice_image__source", "case__source").first())


def repeat_payload(slot: SequenceSlot, vote: RepeatVote) -> dict:
    """The same shape as a first showing's vote, under the repeat's own id."""
    return {"case": slot.public_id, "answer": vote.answer, "confidence": vote.confidence, "time_ms": vote.time_ms,
            "position": slot.position, "created_at": vote.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": vote.updated_at.isoformat().replace("+00:00", "Z")}


def repeat_cast(membership: Membership, slot: SequenceSlot, protocol: StudyProtocol, *, answer: str,
                confidence: int | None, time_ms: int | None) -> SlotAnswer:
    """A repeat's answer, with the same rules as a first showing's: same again is 200, a change 409 unless allowed."""
    study = membership.study
    ensure_confidence(study, confidence)
    existing = RepeatVote.objects.filter(slot=slot).first()
    if existing is None:
        source = slot.case.source
        track = case_track(membership, protocol, slot.case_id, source.pk, source.is_real)
        exposure = exposure_for(membership, protocol, track)
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
    if existing.answer == answer and (confidence is None or existing.confidence == confidence):
        return SlotAnswer(repeat_payload(slot, existing), created=False)
    if existing.answer == answer and not study.allow_vote_changes:
        return SlotAnswer(repeat_payload(slot, existing), created=False)
    if not study.allow_vote_changes:
        return SlotAnswer(repeat_payload(slot, existing), created=False, conflict=True)
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

