"""Reads of reading: a reader's membership (the hot path's one statement), where they stand and their progress; for
study admins each reader's stored sequence and its check against the seed, and the readers' progress."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, OuterRef
from django.db.models.functions import Coalesce
from django.http import Http404

from readerstudy.studies.models import Case, Membership, Study
from readerstudy.studies.selectors import count_of

from . import reading_sql, services
from . import sequence as derive
from .models import Phase, PracticeImage, PracticeVote, RepeatVote, SequenceSlot, StudyProtocol, Vote
from .state import reading_state

READERS_PER_CHUNK = 25  # a streamed export reads this many readers' slots at a time
SEQUENCE_COLUMNS = ["study", "reader", "order_seed", "phase", "position", "block", "segment", "repeat", "case",
                    "shown_as", "finding", "source", "truth", "answer"]


def _frozen(study: Study, memberships: list[Membership]) -> None:
    """Freeze the sequences of the readers whose stored first showings do not cover the study's cases (none, or
    cases added since): one counting statement for all of them, ``freeze_sequence`` only where it has work."""
    if study.status == Study.Status.DRAFT or not memberships:
        return
    cases = Case.objects.filter(study=study).included().count()
    covered = dict(SequenceSlot.objects.filter(membership__in=memberships, phase=Phase.STUDY, is_repeat=False)
                   .values_list("membership_id").annotate(n=Count("pk")).order_by())
    for member in memberships:
        if covered.get(member.pk, 0) < cases:
            services.freeze_sequence(member)


def sequence_rows(study: Study, membership: Membership | None = None) -> Iterator[list]:
    """Every stored slot (practice first, then the study) of every reader, or of one, with its case's truth and the
    reader's answer, for the admin's sequence view and CSV. A generator over plain rows read in chunks, so an export
    of 300 readers streams in constant memory (issue 29: 19.5 s and 18 MB built in memory before)."""
    memberships = [membership] if membership else list(Membership.objects.filter(study=study).order_by("number"))
    _frozen(study, memberships)
    member_of = {member.pk: member for member in memberships}
    cases = {pk: (public_id, finding, source, is_real) for pk, public_id, finding, source, is_real in
             Case.objects.filter(study=study).values_list("pk", "public_id", "finding__name", "source__name",
                                                          "source__is_real")}
    practice = {pk: (finding or "", source, is_real) for pk, finding, source, is_real in
                PracticeImage.objects.filter(study=study).values_list("pk", "finding__name", "source__name",
                                                                      "source__is_real")}
    for chunk_start in range(0, len(memberships), READERS_PER_CHUNK):
        chunk = memberships[chunk_start:chunk_start + READERS_PER_CHUNK]
        first_answers = {(m, c): a for m, c, a in Vote.objects.filter(membership__in=chunk)
                         .values_list("membership_id", "case_id", "answer")}
        own_answers = dict(RepeatVote.objects.filter(membership__in=chunk).values_list("slot_id", "answer"))
        own_answers.update(PracticeVote.objects.filter(membership__in=chunk).values_list("slot_id", "answer"))
        number_of = {member.pk: member.number for member in chunk}
        slots = sorted(SequenceSlot.objects.filter(membership__in=chunk).values_list(
            "pk", "membership_id", "phase", "position", "block", "segment", "is_repeat", "case_id",
            "practice_image_id", "public_id"), key=lambda row: (number_of[row[1]], row[2] != Phase.STUDY, row[3]))
        for pk, member_id, phase, position, block, segment, is_repeat, case_id, image_id, own_id in slots:
            member = member_of[member_id]
            if phase == Phase.PRACTICE:
                finding, source, is_real = practice[image_id]
                shown_id, answer = f"P{image_id}", own_answers.get(pk, "")
            else:
                shown_id, finding, source, is_real = cases[case_id]
                answer = own_answers.get(pk, "") if is_repeat else first_answers.get((member_id, case_id), "")
            yield [study.slug, member.pseudonym, member.order_seed, phase, position, block or "", segment,
                   "yes" if is_repeat else "", shown_id, own_id or shown_id, finding, source,
                   "real" if is_real else "fake", answer]


def sequence_check(membership: Membership) -> dict:
    """Derive the reader's sequence again from the stored seed and compare it with the stored one, slot by slot."""
    return sequence_checks(membership.study, [membership])[0]


def sequence_checks(study: Study, memberships: list[Membership]) -> list[dict]:
    """For each reader: derive the sequence again from the stored seed and compare it with the stored one, slot by
    slot. The study's cases, protocol and practice pool are read once for all readers, the stored slots in one
    statement.

    Segment 0 is derived from the cases it holds with the study's (frozen) settings; each later segment from the
    cases added then. Repeats and practice are compared by case / practice image and place, not by their random ids.
    """
    _frozen(study, memberships)
    stored_of: dict[int, list] = defaultdict(list)
    for member_id, *row in (SequenceSlot.objects.filter(membership__in=memberships).order_by("-phase", "position")
                            .values_list("membership_id", "phase", "position", "case_id", "practice_image_id",
                                         "is_repeat", "segment", "block")):
        stored_of[member_id].append(tuple(row))
    protocol = services.protocol_for(study)
    all_cases = services.case_keys(study.pk)
    pool = list(PracticeImage.objects.filter(study=study).values_list("pk", flat=True))
    return [_checked(member, stored_of[member.pk], protocol, all_cases, pool) for member in memberships]


def _checked(membership: Membership, stored: list, protocol, all_cases: list, pool: list) -> dict:
    if not stored:
        return {"reader": membership.pseudonym, "slots": 0, "matches": None, "first_difference": None}
    by_segment: dict[int, set[int]] = defaultdict(set)
    for phase, _, case_id, _, is_repeat, segment, _ in stored:
        if phase == Phase.STUDY and not is_repeat:
            by_segment[segment].add(case_id)
    first = [key for key in all_cases if key.pk in by_segment[0]]
    derived = [(phase, position, case_id, image_id, is_repeat, 0, block) for phase, position, case_id, image_id,
               is_repeat, block in services.derived_layout(membership.order_seed, protocol, first, pool)]
    derived.sort(key=lambda row: (row[0] != Phase.PRACTICE, row[1]))
    position = max((row[1] for row in derived if row[0] == Phase.STUDY), default=0)
    for segment in sorted(key for key in by_segment if key > 0):
        for case_id in derive.extension_order(sorted(by_segment[segment]), membership.order_seed, segment):
            position += 1
            derived.append((Phase.STUDY, position, case_id, None, False, segment, None))
    difference = next((index for index, (a, b) in enumerate(zip(stored, derived, strict=False)) if a != b), None)
    if difference is None and len(stored) != len(derived):
        difference = min(len(stored), len(derived))
    return {"reader": membership.pseudonym, "slots": len(stored), "matches": difference is None,
            "first_difference": None if difference is None else difference + 1}


def block_composition(membership: Membership) -> list[dict]:
    """Per block of the reader's first showings: how many images of each source and finding it holds, as sorted
    (name, count) pairs."""
    slots = (SequenceSlot.objects.filter(membership=membership, phase=Phase.STUDY, is_repeat=False,
                                         block__isnull=False)
             .values_list("block", "case__source__name", "case__finding__name"))
    blocks: dict[int, dict] = {}
    for block, source, finding in slots:
        entry = blocks.setdefault(block, {"block": block, "size": 0, "sources": Counter(), "findings": Counter()})
        entry["size"] += 1
        entry["sources"][source] += 1
        entry["findings"][finding] += 1
    return [{"block": key, "size": blocks[key]["size"], "sources": sorted(blocks[key]["sources"].items()),
             "findings": sorted(blocks[key]["findings"].items())} for key in sorted(blocks)]


def readers_overview(study: Study) -> list[dict]:
    """Per reader: pseudonym, username, answered / total, practice answered, last activity, whether they voted."""
    members = (Membership.objects.filter(study=study).select_related("user").order_by("number")
               .annotate(first_votes=Count("votes", distinct=True)))
    repeat_counts = dict(RepeatVote.objects.filter(membership__study=study).values_list("membership_id")
                         .annotate(n=Count("pk")))
    practice_counts = dict(PracticeVote.objects.filter(membership__study=study).values_list("membership_id")
                           .annotate(n=Count("pk")))
    slot_counts = dict(SequenceSlot.objects.filter(membership__study=study, phase=Phase.STUDY)
                       .values_list("membership_id").annotate(n=Count("pk")))
    n_cases = Case.objects.filter(study=study).included().count()
    rows = []
    for member in members:
        answered = member.first_votes + repeat_counts.get(member.pk, 0)
        total = slot_counts.get(member.pk, n_cases)
        rows.append({"membership": member, "pseudonym": member.pseudonym, "username": member.user.get_username(),
                     "answered": answered, "total": total, "practice_answered": practice_counts.get(member.pk, 0),
                     "last_activity_at": member.last_activity_at, "has_voted": answered > 0,
                     "percent": round(100 * answered / total) if total else 0})
    return rows


def frozen_reason(study: Study) -> str | None:
    """Why result-shaping settings can no longer change, or None while they still can."""
    started = services.first_vote_at(study)
    if started is None:
        return None
    return (f"The first vote was cast on {started:%Y-%m-%d at %H:%M} UTC. Settings that shape the results (sequence, "
            "blocks, repeats, practice block, timing, finding shown, confidence asked) are frozen from then on, so "
            "every reader's votes were collected under the same protocol.")


@dataclass(frozen=True)
class Reader:
    """A reader in one request: their membership (its ``study`` loaded) and the study's protocol (an unsaved one with
    every setting off when the study has none), read together in one statement."""

    membership: Membership
    protocol: StudyProtocol

    @property
    def study(self) -> Study:
        return self.membership.study


def reader_for(user, slug: str) -> Reader:
    """The caller as a reader of the study (membership, study and protocol in one query), or 404: a non-member must
    not learn that the study exists."""
    if not user.is_authenticated:
        raise Http404("No such study.")
    # One plain statement (reading_sql): this runs in every reader request, and the ORM spent longer compiling the
    # three-table join than the database spent answering it.
    found = reading_sql.membership_in(slug, user.pk)
    if found is None:
        raise Http404("No such study.")
    membership, protocol = found
    return Reader(membership, protocol or StudyProtocol(study=membership.study))


def membership_for(user, slug: str) -> Membership:
    """The caller's membership in the study (with its study), or 404 (``reader_for`` without the protocol)."""
    return reader_for(user, slug).membership


def cases_by_pk(pks: list[int]) -> dict[int, Case]:
    return {case.pk: case for case in Case.objects.filter(pk__in=pks).select_related("finding", "source").order_by()}


def study_progress(membership: Membership, protocol: StudyProtocol | None = None) -> dict:
    """Answered and total images of the study phase (repeats count as images; practice does not)."""
    state = reading_state(membership, protocol)
    total, answered = state.total, state.answered
    return {"answered": answered, "total": total, "done": total > 0 and answered >= total}


def reader_memberships_with_progress(user) -> list[Membership]:
    """The reader's memberships in studies that are not drafts, each with ``answered`` and ``total`` counts (the
    frozen sequence's length once there is one, the number of cases before)."""
    total_cases = count_of(Case.objects.filter(study=OuterRef("study")).included(), "study")
    total_slots = count_of(SequenceSlot.objects.filter(membership=OuterRef("pk"), phase=Phase.STUDY), "membership")
    own_votes = count_of(Vote.objects.filter(membership=OuterRef("pk")), "membership")
    repeat_votes = count_of(RepeatVote.objects.filter(membership=OuterRef("pk")), "membership")
    return list(
        Membership.objects.filter(user=user)
        .exclude(study__status=Study.Status.DRAFT)
        .select_related("study")
        .annotate(answered=Coalesce(own_votes, 0) + Coalesce(repeat_votes, 0),
                  total=Coalesce(total_slots, total_cases, 0))
        .order_by("study__name")
    )


def reader_waiting_studies(user) -> list[Study]:
    """The draft studies the user has joined as a reader: not open yet, so nothing to read, but named on the home page
    so an invitee knows the invitation worked and what they are waiting for."""
    return list(Study.objects.filter(memberships__user=user, status=Study.Status.DRAFT).order_by("name"))


def resume_study_slug(user) -> str | None:
    """The one open study a reader has left to finish, if there is exactly one (so login can resume it)."""
    unfinished = [m for m in reader_memberships_with_progress(user)
                  if m.study.is_open and (m.total or 0) > m.answered]
    return unfinished[0].study.slug if len(unfinished) == 1 else None
