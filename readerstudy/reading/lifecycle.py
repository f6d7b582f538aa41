"""The study's lifecycle, the one service every route goes through: the pages, the API (``status/`` and ``open/``),
the management commands, the demo. Django admin shows the status read-only.

draft -> open <-> paused -> closed. Closed is final: nothing moves a closed study again. Opening checks the protocol
and the cases; closing is refused while readers have an image on screen that they have not answered. Each change is
audited once, here, in the transaction that makes it.

What each change means for readers (shown on the confirmation step before an irreversible one) lives here too, so
the page says what the service does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from readerstudy.studies.models import Case, Membership, Study
from readerstudy.studies.services import audit
from readerstudy.studies.signals import reader_ready

from .models import ImageShowing, Phase, PracticeVote, RepeatVote, Vote
from .services import ProtocolError, TransitionRefused, protocol_for, validate_protocol

TRANSITIONS = {
    Study.Status.DRAFT: {Study.Status.OPEN},
    Study.Status.OPEN: {Study.Status.PAUSED, Study.Status.CLOSED},
    Study.Status.PAUSED: {Study.Status.OPEN, Study.Status.CLOSED},
    Study.Status.CLOSED: set(),
}

# An image shown this recently and not yet answered counts as a vote in flight: closing would discard it.
IN_FLIGHT_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class Consequences:
    """What a status change does, as the confirmation step says it."""

    to: str
    verb: str  # the button's word
    final: bool  # cannot be undone
    lines: tuple[str, ...]


def consequences(study: Study, to: str) -> Consequences:
    """What moving ``study`` to ``to`` ends, freezes or shows readers; the same words on every page that asks."""
    if to not in Study.Status.values:
        raise TransitionRefused(f"status must be one of {', '.join(Study.Status.values)}.", "status")
    if to != study.status and to not in TRANSITIONS[Study.Status(study.status)]:
        raise TransitionRefused(_why_not(study, to), "status")
    if to == Study.Status.OPEN and study.status == Study.Status.DRAFT:
        return Consequences(to, "Open", True, (
            "Readers can start reading; a study once opened never returns to draft.",
            "Each reader's sequence is frozen now: cases imported later are appended at the end, never reshuffled.",
            "The protocol settings that shape the results (confidence scale, finding shown, blocks, repeats, "
            "practice, exposure) freeze at the first vote.",
            "Batches can no longer be uploaded or removed, and cases no longer excluded from the gallery.",
        ))
    if to == Study.Status.OPEN:
        return Consequences(to, "Resume", False, ("Readers get images again and continue where they stopped.",))
    if to == Study.Status.PAUSED:
        return Consequences(to, "Pause", False, (
            "Readers get no new image and no image is served until the study is opened again; their votes so far "
            "are kept.",
        ))
    if to == Study.Status.CLOSED:
        return Consequences(to, "Close", True, (
            "Reading ends for every reader: no further image is shown and no vote is accepted.",
            "Closing is final: a closed study cannot be opened or paused again, on any route.",
            "Readers who open the study see that it is closed"
            + (" and their own score." if study.show_own_score_when_closed else "; their scores stay hidden."),
            "The results are computed from the votes cast until now.",
        ))
    raise TransitionRefused(f"status must be one of {', '.join(Study.Status.values)}.", "status")


def next_statuses(study: Study) -> list[str]:
    return sorted(TRANSITIONS[Study.Status(study.status)])


def votes_in_flight(study: Study) -> int:
    """Readers with an image on screen (shown within ``IN_FLIGHT_WINDOW``) that they have not answered since."""
    since = timezone.now() - IN_FLIGHT_WINDOW
    answered = (
        Exists(Vote.objects.filter(membership=OuterRef("membership"), case=OuterRef("slot__case"),
                                   created_at__gte=OuterRef("issued_at")))
        | Exists(RepeatVote.objects.filter(slot=OuterRef("slot"), created_at__gte=OuterRef("issued_at")))
        | Exists(PracticeVote.objects.filter(slot=OuterRef("slot"), created_at__gte=OuterRef("issued_at")))
    )
    pending = (ImageShowing.objects.filter(membership__study=study, shown_at__gte=since)
               .filter(Q(slot__phase=Phase.PRACTICE) | Q(slot__phase=Phase.STUDY))
               .exclude(answered))
    return pending.values("membership").distinct().count()


def study_transition(study: Study, actor, to: str) -> Study:
    """Move ``study`` to ``to`` (audited once, naming ``actor``; None: the server's operator). Refusals name what is
    wrong: an unknown status, a move the lifecycle does not allow (closed is final), an open without cases or with a
    protocol that cannot be met, a close while votes are in flight."""
    if to not in Study.Status.values:
        raise TransitionRefused(f"status must be one of {', '.join(Study.Status.values)}.", "status")
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if to == locked.status:
            _copy_state(locked, study)
            return study
        if to not in TRANSITIONS[Study.Status(locked.status)]:
            raise TransitionRefused(_why_not(locked, to), "status")
        old = locked.status
        if to == Study.Status.OPEN:
            _check_openable(locked)
            locked.status = to
            if locked.opened_at is None:
                locked.opened_at = timezone.now()
            locked.save(update_fields=["status", "opened_at"])
        elif to == Study.Status.CLOSED:
            if locked.status == Study.Status.OPEN and (pending := votes_in_flight(locked)):
                raise TransitionRefused(
                    f"{pending} reader{' has' if pending == 1 else 's have'} an image on screen not yet answered "
                    f"(shown in the last {int(IN_FLIGHT_WINDOW.total_seconds() // 60)} minutes): closing now would "
                    "discard those answers. Wait for them, or pause the study first and close it once reading has "
                    "stopped.", "status")
            locked.status, locked.closed_at = to, timezone.now()
            locked.save(update_fields=["status", "closed_at"])
        else:
            locked.status = to
            locked.save(update_fields=["status"])
        audit(locked, actor, "status", "status", old, to)
        if to == Study.Status.OPEN and old == Study.Status.DRAFT:
            for membership in Membership.objects.filter(study=locked).select_related("study"):
                reader_ready.send(sender=Membership, membership=membership)
    _copy_state(locked, study)
    return study


def _copy_state(source: Study, target: Study) -> None:
    target.status, target.opened_at, target.closed_at = source.status, source.opened_at, source.closed_at


def _why_not(study: Study, to: str) -> str:
    if study.status == Study.Status.CLOSED:
        return "The study is closed, and closing is final: it cannot be opened or paused again."
    if to == Study.Status.DRAFT:
        return f"A {study.get_status_display().lower()} study cannot return to draft."
    return f"A {study.get_status_display().lower()} study cannot become {to}."


def _check_openable(study: Study) -> None:
    cases = Case.objects.filter(study=study).included()
    if not cases.exists():
        raise TransitionRefused("The study has no cases yet: import a batch before opening it.", "cases")
    if cases.filter(source__is_real=False).exists() and not cases.filter(source__is_real=True).exists():
        raise TransitionRefused(
            "The study has generated cases but no real ones to compare them with: add real images before opening it.",
            "cases")
    try:
        validate_protocol(study, protocol_for(study))
    except ProtocolError as exc:
        raise TransitionRefused(exc.message, exc.field) from None
