"""Writes of the study protocol: settings (validated, frozen after the first vote, audited), the study's lifecycle,
each reader's frozen sequence, the practice pool, the cue list and resetting a reader.

Every function does all of its work or none (one transaction), and writes its audit entry in the same transaction.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.dispatch import receiver

from readerstudy.batches.normalise import normalise_image  # the batch import's normalisation, for practice images
from readerstudy.errors import ApplicationError
from readerstudy.studies.models import Case, Membership, Source, Study
from readerstudy.studies.services import audit
from readerstudy.studies.signals import reader_ready

from . import sequence as derive
from .models import (
    DEFAULT_CUES,
    MAX_EXPOSURE_MS,
    MAX_MARKS_LIMIT,
    MIN_EXPOSURE_MS,
    ExposureMode,
    FakeCue,
    MarksMode,
    Phase,
    PracticeImage,
    PracticeVote,
    RepeatVote,
    SequenceSlot,
    StaircaseTrack,
    StudyProtocol,
    Vote,
)

# Study fields an admin may change from the protocol page; those in STUDY_RESULT_SHAPING freeze with the protocol.
STUDY_FIELDS = ("allow_vote_changes", "show_finding", "show_progress", "ask_confidence", "show_own_score_when_closed")
STUDY_RESULT_SHAPING = ("show_finding", "ask_confidence")
PROTOCOL_FIELDS = ("block_size", "repeat_percent", "practice_count", "practice_feedback", "exposure_mode",
                   "exposure_ms", "staircase_down", "staircase_factor", "ask_fake_reasons", "marks_mode", "max_marks")
SEQUENCE_SHAPING = ("block_size", "repeat_percent", "practice_count")

class ProtocolError(ApplicationError):
    """A setting or an action that cannot be satisfied (400); ``field`` names what to fix."""


class SettingsFrozen(ProtocolError):
    """A result-shaping setting changed after the first vote."""

    status_code = 409


class TransitionRefused(ProtocolError):
    """A study that cannot move to the status asked for (its protocol or its cases do not allow it yet)."""

    status_code = 409


# --- reads the services need ------------------------------------------------------------------------------------

def protocol_for(study: Study) -> StudyProtocol:
    """The study's protocol as stored now, or an unsaved one with every setting off (nothing is written on a read).
    A reader's request has it already (``selectors.reader_for``) and passes it on instead."""
    return StudyProtocol.objects.filter(study=study).first() or StudyProtocol(study=study)


def going_back_allowed(study: Study, protocol: StudyProtocol) -> bool:
    """Whether readers may go back to an answered image and change it: where the study allows it, never with adaptive
    exposure (set-up refuses the pair, and a study stored with it before that rule is read as refusing)."""
    return study.allow_vote_changes and protocol.exposure_mode != ExposureMode.ADAPTIVE


def first_vote_at(study: Study):
    """When the study's first vote of any kind (study, repeat, practice) was cast, or None."""
    moments = [
        Vote.objects.filter(membership__study=study).order_by("created_at").values_list("created_at", flat=True)
        .first(),
        RepeatVote.objects.filter(membership__study=study).order_by("created_at")
        .values_list("created_at", flat=True).first(),
        PracticeVote.objects.filter(membership__study=study).order_by("created_at")
        .values_list("created_at", flat=True).first(),
    ]
    moments = [moment for moment in moments if moment is not None]
    return min(moments) if moments else None


# --- settings ---------------------------------------------------------------------------------------------------

def _as_decimal(value, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ProtocolError(f"{field} must be a number.", field) from None


def validate_protocol(study: Study, protocol: StudyProtocol, *, check_practice_pool: bool = True) -> None:
    """Refuse settings that cannot be satisfied, naming the field and saying why. A study being created has no
    practice pool yet (``check_practice_pool=False``); opening it checks the pool."""
    n_cases = Case.objects.filter(study=study).included().count()
    if protocol.block_size < 0:
        raise ProtocolError("The block size cannot be negative.", "block_size")
    if protocol.block_size and n_cases and protocol.block_size > n_cases:
        raise ProtocolError(f"A block of {protocol.block_size} images is larger than the study ({n_cases} cases): "
                            f"choose at most {n_cases}, or 0 for no blocks.", "block_size")
    percent = _as_decimal(protocol.repeat_percent, "repeat_percent")
    if percent < 0:
        raise ProtocolError("The share of repeats cannot be negative.", "repeat_percent")
    if percent > 100:
        raise ProtocolError(f"Repeating {percent}% of the cases would need more repeats than the study has cases: "
                            "at most 100% (every case once more).", "repeat_percent")
    if protocol.exposure_mode not in ExposureMode.values:
        raise ProtocolError(f"exposure_mode must be one of {', '.join(ExposureMode.values)}.", "exposure_mode")
    if protocol.exposure_mode != ExposureMode.OFF:
        if protocol.exposure_ms is None:
            raise ProtocolError("A timed study needs an exposure in ms.", "exposure_ms")
    if protocol.exposure_ms is not None and not MIN_EXPOSURE_MS <= protocol.exposure_ms <= MAX_EXPOSURE_MS:
        raise ProtocolError(f"An exposure of {protocol.exposure_ms} ms is outside {MIN_EXPOSURE_MS} ms to "
                            f"{MAX_EXPOSURE_MS:,} ms (one minute).", "exposure_ms")
    if protocol.exposure_mode == ExposureMode.ADAPTIVE and study.allow_vote_changes:
        raise ProtocolError("Adaptive exposure does not let readers go back: an answer changed after the exposures "
                            "that followed it would be an answer corrected with hindsight. Turn off "
                            "allow_vote_changes, or choose a fixed exposure.", "allow_vote_changes")
    if protocol.staircase_down < 1:
        raise ProtocolError("The staircase needs at least one correct answer before shortening.", "staircase_down")
    if _as_decimal(protocol.staircase_factor, "staircase_factor") <= 1:
        raise ProtocolError("The staircase factor must be above 1 (e.g. 1.25).", "staircase_factor")
    if protocol.marks_mode not in MarksMode.values:
        raise ProtocolError(f"marks_mode must be one of {', '.join(MarksMode.values)}.", "marks_mode")
    if not 1 <= protocol.max_marks <= MAX_MARKS_LIMIT:
        raise ProtocolError(f"max_marks must be from 1 to {MAX_MARKS_LIMIT}.", "max_marks")
    if check_practice_pool:
        validate_practice_pool(study, protocol.practice_count)


def validate_practice_pool(study: Study, practice_count: int) -> None:
    pool = PracticeImage.objects.filter(study=study)
    overlap = pool.filter(pixel_sha256__in=Case.objects.filter(study=study).values("pixel_sha256")).count()
    if overlap:
        raise ProtocolError(f"{overlap} practice image{'s are' if overlap > 1 else ' is'} also a study case: the "
                            "practice pool must not overlap the study cases.", "practice_images")
    if practice_count and practice_count > pool.count():
        raise ProtocolError(f"{practice_count} practice images asked for, but the practice pool has "
                            f"{pool.count()}.", "practice_count")


def settings_update(study: Study, actor, changes: dict) -> StudyProtocol:
    """Change study and protocol settings together; every change is audited.

    Result-shaping settings are refused once the first vote is cast (``SettingsFrozen``). A change to the sequence
    settings before then drops the readers' frozen sequences, which are derived again at their next access.
    """
    unknown = set(changes) - set(PROTOCOL_FIELDS) - set(STUDY_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise ProtocolError(f"{field} is not a study setting.", field)
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        protocol = protocol_for(study)
        changed = {}
        for field, value in changes.items():
            target = protocol if field in PROTOCOL_FIELDS else study
            old = getattr(target, field)
            if field in ("repeat_percent", "staircase_factor"):
                value = _as_decimal(value, field)
                same = _as_decimal(old, field) == value
            else:
                same = old == value
            if not same:
                changed[field] = (old, value)
                setattr(target, field, value)
        if not changed:
            return protocol
        frozen = [field for field in changed
                  if field in StudyProtocol.RESULT_SHAPING or field in STUDY_RESULT_SHAPING]
        started = first_vote_at(study)
        if frozen and started is not None:
            raise SettingsFrozen(
                f"{frozen[0]} shapes the results and is frozen since the first vote "
                f"({started:%Y-%m-%d %H:%M} UTC): changing it now would make earlier and later votes incomparable.",
                frozen[0])
        validate_protocol(study, protocol)
        protocol.save()
        study_changes = [field for field in changed if field in STUDY_FIELDS]
        if study_changes:
            study.save(update_fields=study_changes)
        if any(field in SEQUENCE_SHAPING for field in changed):
            SequenceSlot.objects.filter(membership__study=study).delete()
        if protocol.ask_fake_reasons and not FakeCue.objects.filter(study=study).exists():
            FakeCue.objects.bulk_create(FakeCue(study=study, label=label, order=index)
                                        for index, label in enumerate(DEFAULT_CUES))
        for field, (old, new) in changed.items():
            audit(study, actor, "setting", field, old, new)
    return protocol


def cues_update(study: Study, actor, labels: list[str]) -> list[FakeCue]:
    """Replace the study's cue list (order as given). Votes keep the labels they were cast with."""
    cleaned = [label.strip() for label in labels if label.strip()]
    if len(set(cleaned)) != len(cleaned):
        raise ProtocolError("Each cue may appear once.", "cues")
    if any(len(label) > 80 for label in cleaned):
        raise ProtocolError("A cue is at most 80 characters.", "cues")
    with transaction.atomic():
        old = list(FakeCue.objects.filter(study=study).values_list("label", flat=True))
        FakeCue.objects.filter(study=study).delete()
        cues = FakeCue.objects.bulk_create(FakeCue(study=study, label=label, order=index)
                                           for index, label in enumerate(cleaned))
        if old != cleaned:
            audit(study, actor, "cues", "cues", "; ".join(old), "; ".join(cleaned))
    return cues


# --- each reader's frozen sequence ------------------------------------------------------------------------------

def case_keys(study_id: int, only: set[int] | None = None) -> list[derive.CaseKey]:
    rows = Case.objects.filter(study_id=study_id).included().order_by("pk").values_list(
        "pk", "source_id", "finding_id", "provenance__origin_image")
    return [derive.CaseKey(pk, source, finding, origin if isinstance(origin, str) else "")
            for pk, source, finding, origin in rows if only is None or pk in only]


def derived_layout(seed: int, protocol: StudyProtocol, cases: list[derive.CaseKey],
                   practice_pool: list[int]) -> list[tuple]:
    """A reader's whole sequence derived from their seed alone, as rows ``(phase, position, case_id,
    practice_image_id, is_repeat, block)``: practice first, then the study."""
    rows = [(Phase.PRACTICE, position, None, image_id, False, None) for position, image_id in
            enumerate(derive.practice_order(practice_pool, seed, protocol.practice_count), start=1)]
    order = derive.study_order(cases, seed, protocol.block_size, protocol.repeat_percent)
    rows += [(Phase.STUDY, position, spec.case_id, None, spec.is_repeat, spec.block)
             for position, spec in enumerate(order, start=1)]
    return rows


def derived_slots(membership: Membership, protocol: StudyProtocol, cases: list[derive.CaseKey],
                  practice_pool: list[int] | None = None) -> list[SequenceSlot]:
    """Unsaved slots for a reader's whole sequence, derived from their seed alone (``practice_pool``: the study's
    practice image ids, when the caller has them)."""
    pool = practice_pool if practice_pool is not None else list(
        PracticeImage.objects.filter(study_id=membership.study_id).values_list("pk", flat=True))
    return [SequenceSlot(membership=membership, phase=phase, position=position, case_id=case_id,
                         practice_image_id=image_id, is_repeat=is_repeat, block=block)
            for phase, position, case_id, image_id, is_repeat, block in
            derived_layout(membership.order_seed, protocol, cases, pool)]


def freeze_sequence(membership: Membership) -> None:
    """Store the reader's sequence the first time it is needed, and append cases added since as a new segment.

    Two first requests at once both derive the same order; the unique constraints keep the first, and the second
    finds it stored.
    """
    study_slots = SequenceSlot.objects.filter(membership=membership, phase=Phase.STUDY)
    known = set(study_slots.filter(is_repeat=False).values_list("case_id", flat=True))
    if not known and not SequenceSlot.objects.filter(membership=membership).exists():
        slots = derived_slots(membership, protocol_for(membership.study), case_keys(membership.study_id))
        if not slots:
            return
        for slot in slots:
            slot.give_own_ids()
        try:
            with transaction.atomic():
                SequenceSlot.objects.bulk_create(slots)
        except IntegrityError:
            pass  # a concurrent request stored the same order first
        return
    missing = set(Case.objects.filter(study_id=membership.study_id).included().values_list("pk", flat=True)) - known
    if missing:
        _append_segment(membership, sorted(missing))


@receiver(reader_ready, dispatch_uid="reading_freezes_the_sequence")
def _freeze_when_ready(sender, membership: Membership, **kwargs) -> None:
    freeze_sequence(membership)


def _append_segment(membership: Membership, case_ids: list[int]) -> None:
    last = SequenceSlot.objects.filter(membership=membership, phase=Phase.STUDY).order_by("-position").first()
    segment = (last.segment + 1) if last else 0
    start = last.position if last else 0
    order = derive.extension_order(case_ids, membership.order_seed, segment)
    try:
        with transaction.atomic():
            SequenceSlot.objects.bulk_create(
                SequenceSlot(membership=membership, phase=Phase.STUDY, position=start + index, case_id=case_id,
                             segment=segment)
                for index, case_id in enumerate(order, start=1))
    except IntegrityError:
        pass  # a concurrent request appended them first


# --- practice pool ----------------------------------------------------------------------------------------------

PRACTICE_MAX_PIXELS = 40_000_000


def practice_image_normalised(study: Study, upload: bytes) -> bytes:
    """An uploaded practice image as the batch import normalises a case (greyscale PNG, the study's crop margin);
    ``ProtocolError`` naming ``image`` for a file that is not an image it can read."""
    try:
        return normalise_image(upload, crop_margin=study.crop_margin, max_pixels=PRACTICE_MAX_PIXELS).png
    except ValueError as exc:
        raise ProtocolError(str(exc), "image") from None


def practice_image_add(study: Study, actor, *, png_bytes: bytes, source: Source, finding=None) -> PracticeImage:
    """Add a normalised PNG to the practice pool; an image that is also a study case is refused."""
    started = first_vote_at(study)
    if started is not None:
        raise SettingsFrozen(f"The practice pool is frozen since the first vote ({started:%Y-%m-%d %H:%M} UTC).",
                             "practice_images")
    digest = hashlib.sha256(png_bytes).hexdigest()
    if Case.objects.filter(study=study, pixel_sha256=digest).exists():
        raise ProtocolError("This image is a study case: the practice pool must not overlap the study cases.",
                            "practice_images")
    if PracticeImage.objects.filter(study=study, pixel_sha256=digest).exists():
        raise ProtocolError("This image is already in the practice pool.", "practice_images")
    image = PracticeImage(study=study, pixel_sha256=digest, source=source, finding=finding)
    image.image.save("practice.png", ContentFile(png_bytes), save=False)
    with transaction.atomic():
        image.save()
        SequenceSlot.objects.filter(membership__study=study).delete()  # derived again with the new pool
        audit(study, actor, "practice_image", "practice_images", "", f"{source.name} #{image.pk}")
    return image


# --- readers ----------------------------------------------------------------------------------------------------

def reader_reset(membership: Membership, actor) -> None:
    """Start a reader afresh (practice answers, frozen sequence, staircases); refused once they have voted."""
    if Vote.objects.filter(membership=membership).exists() or RepeatVote.objects.filter(membership=membership).exists():
        raise ProtocolError(f"{membership.pseudonym} has voted; a reader's session can be reset only before their "
                            "first vote.", "reader", status_code=409)
    with transaction.atomic():
        PracticeVote.objects.filter(membership=membership).delete()
        SequenceSlot.objects.filter(membership=membership).delete()
        StaircaseTrack.objects.filter(membership=membership).delete()
        Membership.objects.filter(pk=membership.pk).update(last_activity_at=None)
        audit(membership.study, actor, "reset", "readers", membership.pseudonym, "")
