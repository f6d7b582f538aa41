"""Reading through a frozen sequence: where a reader stands, what each slot shows under which ids, and the exposure
of a timed study (the staircases).

A first showing is served under its case's own ids; a repeat or a practice image under ids of its own slot, so the
reader's API cannot tell a repeat from a first showing (the answers: ``votes``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.db import transaction
from django.db.models import Count, Max

from readerstudy.studies.models import Case, Membership, Study

from . import reading_sql, services
from . import sequence as derive
from .models import (
    ExposureMode,
    Phase,
    PracticeVote,
    RepeatVote,
    SequenceSlot,
    StaircaseTrack,
    StudyProtocol,
)
from .staircase import Lane, Staircase, lanes_after_answer, settle, shown_exposure


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


def reading_state(membership: Membership, protocol: StudyProtocol | None = None) -> ReadingState:
    """The reader's state; the sequence is frozen at the first access to a study that is not a draft. ``protocol`` is
    the study's, when the caller has it (a draft's order is derived from it)."""
    if membership.study.status == Study.Status.DRAFT:
        protocol = protocol if protocol is not None else services.protocol_for(membership.study)
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
# Adaptive mode runs, per reader and generator, several interleaved staircases (lanes). A fake image rides a lane of
# its generator; a real image a lane of the generator it was dealt to by a seeded, balanced draw; never by its
# position, which a script sees (``sequence.staircase_lanes``). An answer moves its lane a secret number of answers
# later (``staircase.answer_delay``), so the exposures a reader sees next say nothing about the answer just given.
#
# Every image costs the same work whatever its source: the lane of every case comes from one cached table (one
# fingerprint statement per request), the exposure is one statement, and an answer locks and rewrites all of the
# reader's lanes at once.

Track = tuple[int, int]  # (generator's source id, lane)


def case_tracks(membership: Membership) -> dict[int, Track]:
    """Case id -> the staircase lane its image rides for this reader."""
    count, top = (Case.objects.filter(study_id=membership.study_id).included().order_by()
                  .aggregate(n=Count("pk"), top=Max("pk")).values())
    return _case_tracks(membership.study_id, membership.order_seed, count, top)


@lru_cache(maxsize=256)
def _case_tracks(study_id: int, seed: int, count: int, top: int | None) -> dict[int, Track]:
    """Cached per process, keyed by the seed and a fingerprint of the study's cases (count and largest id)."""
    rows = Case.objects.filter(study_id=study_id).included().values_list("pk", "source_id", "source__is_real")
    fakes = {pk: source for pk, source, is_real in rows if not is_real}
    reals = [pk for pk, _source, is_real in rows if is_real]
    return derive.staircase_lanes(fakes, reals, seed)


def case_track(membership: Membership, protocol: StudyProtocol, case_id: int) -> Track | None:
    """The staircase lane of this case's image in an adaptive study (None otherwise, and for a real image in a study
    without generated ones). The same work for every case: its source is not consulted here."""
    if protocol.exposure_mode != ExposureMode.ADAPTIVE:
        return None
    return case_tracks(membership).get(case_id)


def exposure_for(membership: Membership, protocol: StudyProtocol, track: Track | None,
                 case_id: int | None = None) -> int | None:
    """How long the image of case ``case_id`` on staircase lane ``track`` is shown (ms): its lane's level moved by
    the image's own secret draw (``staircase.shown_exposure``); None when the study is not timed. Practice images
    (``track`` None) use the starting exposure."""
    if protocol.exposure_mode == ExposureMode.OFF:
        return None
    if protocol.exposure_mode == ExposureMode.FIXED or track is None:
        return protocol.exposure_ms
    level = StaircaseTrack.objects.filter(membership=membership, source_id=track[0], lane=track[1]).values_list(
        "level_ms", flat=True).first()
    return shown_exposure(level if level is not None else protocol.exposure_ms, membership.order_seed,
                          case_id or 0, float(protocol.staircase_factor))


def staircase_record(membership: Membership, protocol: StudyProtocol, track: Track | None, correct: bool) -> None:
    """Note an answer on its lane, and move every lane by the answers now due (adaptive studies only).

    The rule is ``staircase.lanes_after_answer``. All of the reader's lanes are locked, brought up to date and
    written back in one statement, whichever lane the answer is on."""
    if protocol.exposure_mode != ExposureMode.ADAPTIVE or track is None:
        return
    with transaction.atomic():
        rows = _locked_lanes(membership, protocol)
        lanes = lanes_after_answer({key: Lane(_staircase(row), tuple(row.pending)) for key, row in rows.items()},
                                   track, correct, membership.order_seed, down=protocol.staircase_down,
                                   factor=float(protocol.staircase_factor))
        for key, row in rows.items():
            state = lanes[key].staircase
            row.level_ms, row.correct_run, row.direction = state.level_ms, state.correct_run, state.direction
            row.reversals, row.trials, row.pending = list(state.reversals), state.trials, list(lanes[key].pending)
        StaircaseTrack.objects.bulk_update(
            rows.values(), ["level_ms", "correct_run", "direction", "reversals", "trials", "pending"])


def _staircase(lane: StaircaseTrack) -> Staircase:
    return Staircase(lane.level_ms, lane.correct_run, lane.direction, tuple(lane.reversals), lane.trials)


def settled_staircase(lane: StaircaseTrack, protocol: StudyProtocol) -> Staircase:
    """A lane with every answer on it applied, those still pending included (for its threshold once reading ends)."""
    state, _waiting = settle(_staircase(lane), lane.pending, None, down=protocol.staircase_down,
                             factor=float(protocol.staircase_factor))
    return state


def _locked_lanes(membership: Membership, protocol: StudyProtocol) -> dict[Track, StaircaseTrack]:
    """Every lane of the reader, locked; all are created at the first answer (so no answer costs more than another)."""
    lanes = {(lane.source_id, lane.lane): lane
             for lane in StaircaseTrack.objects.select_for_update().filter(membership=membership)}
    missing = set(case_tracks(membership).values()) - set(lanes)
    if missing:
        StaircaseTrack.objects.bulk_create(
            [StaircaseTrack(membership=membership, source_id=source, lane=lane, level_ms=protocol.exposure_ms)
             for source, lane in sorted(missing)], ignore_conflicts=True)
        lanes = {(lane.source_id, lane.lane): lane
                 for lane in StaircaseTrack.objects.select_for_update().filter(membership=membership)}
    return lanes
