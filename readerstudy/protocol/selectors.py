"""Reads for study admins: each reader's stored sequence and its check against the seed, readers' progress, the
audit trail, and the protocol's results (intra-reader agreement on repeats, cue tallies, exposure thresholds)."""
from __future__ import annotations

import math
from collections import Counter, defaultdict

from django.db.models import Count, Max
from scipy.special import stdtrit

from readerstudy.studies.models import Case, Membership, Study, Vote

from . import sequence as derive
from . import services
from .models import (
    AuditEntry,
    FakeReason,
    Invitation,
    Phase,
    PracticeVote,
    RepeatVote,
    SequenceSlot,
    StaircaseTrack,
)
from .staircase import threshold_estimate

SEQUENCE_COLUMNS = ["study", "reader", "order_seed", "phase", "position", "block", "segment", "repeat", "case",
                    "shown_as", "finding", "source", "truth", "answer"]


def sequence_rows(study: Study, membership: Membership | None = None) -> list[list]:
    """Every stored slot (practice first, then the study) of every reader, or of one, with its case's truth and the
    reader's answer, for the admin's sequence view and CSV."""
    memberships = [membership] if membership else list(Membership.objects.filter(study=study).order_by("number"))
    for member in memberships:
        if study.status != Study.Status.DRAFT:
            services.freeze_sequence(member)
    slots = (SequenceSlot.objects.filter(membership__in=memberships)
             .select_related("membership", "case__finding", "case__source", "practice_image__source",
                             "practice_image__finding")
             .order_by("membership__number", "-phase", "position"))
    first_answers = {(m, c): a for m, c, a in Vote.objects.filter(membership__in=memberships)
                     .values_list("membership_id", "case_id", "answer")}
    own_answers = dict(RepeatVote.objects.filter(membership__in=memberships).values_list("slot_id", "answer"))
    own_answers.update(PracticeVote.objects.filter(membership__in=memberships).values_list("slot_id", "answer"))
    rows = []
    for slot in slots:
        if slot.phase == Phase.PRACTICE:
            image = slot.practice_image
            finding, source, case_id = (image.finding.name if image.finding else ""), image.source, f"P{image.pk}"
            answer = own_answers.get(slot.pk, "")
        else:
            finding, source, case_id = slot.case.finding.name, slot.case.source, slot.case.public_id
            answer = (own_answers.get(slot.pk, "") if slot.is_repeat
                      else first_answers.get((slot.membership_id, slot.case_id), ""))
        rows.append([study.slug, slot.membership.pseudonym, slot.membership.order_seed, slot.phase, slot.position,
                     slot.block or "", slot.segment, "yes" if slot.is_repeat else "", case_id,
                     slot.public_id or case_id, finding, source.name, "real" if source.is_real else "fake", answer])
    return rows


def sequence_check(membership: Membership) -> dict:
    """Derive the reader's sequence again from the stored seed and compare it with the stored one, slot by slot.

    Segment 0 is derived from the cases it holds with the study's (frozen) settings; each later segment from the
    cases added then. Repeats and practice are compared by case / practice image and place, not by their random ids.
    """
    if membership.study.status != Study.Status.DRAFT:
        services.freeze_sequence(membership)
    stored = list(SequenceSlot.objects.filter(membership=membership).order_by("-phase", "position")
                  .values_list("phase", "position", "case_id", "practice_image_id", "is_repeat", "segment", "block"))
    if not stored:
        return {"reader": membership.pseudonym, "slots": 0, "matches": None, "first_difference": None}
    protocol = services.protocol_for(membership.study)
    by_segment: dict[int, set[int]] = defaultdict(set)
    for phase, _, case_id, _, is_repeat, segment, _ in stored:
        if phase == Phase.STUDY and not is_repeat:
            by_segment[segment].add(case_id)
    base = services.derived_slots(membership, protocol, services.case_keys(membership.study_id, only=by_segment[0]))
    derived = [(slot.phase, slot.position, slot.case_id, slot.practice_image_id, slot.is_repeat, 0, slot.block)
               for slot in base]
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


def audit_trail(study: Study, limit: int = 500) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(study=study).select_related("actor")[:limit])


def open_invitations(study: Study) -> list[Invitation]:
    return list(Invitation.objects.filter(study=study).select_related("used_by").order_by("-created_at"))


def frozen_reason(study: Study) -> str | None:
    """Why result-shaping settings can no longer change, or None while they still can."""
    started = services.first_vote_at(study)
    if started is None:
        return None
    return (f"The first vote was cast on {started:%Y-%m-%d at %H:%M} UTC. Settings that shape the results (sequence, "
            "blocks, repeats, practice block, timing, finding shown, confidence asked) are frozen from then on, so "
            "every reader's votes were collected under the same protocol.")


# --- the protocol's results -------------------------------------------------------------------------------------

def intra_reader_agreement(study: Study) -> list[dict]:
    """Per reader: how often the repeat's answer equals the first showing's, and Cohen's kappa between the two with
    its 95% bootstrap interval (``results.agreement_measures``)."""
    return intra_reader_summary(study)["rows"]


def intra_reader_summary(study: Study) -> dict:
    """``rows`` as ``intra_reader_agreement`` and ``mean``: the readers' mean kappa, with an interval that resamples
    readers and their repeated images."""
    from readerstudy.results.agreement_measures import intra_reader_agreement as kappa_with_intervals

    firsts = {(m, c): a for m, c, a in Vote.objects.filter(membership__study=study)
              .values_list("membership_id", "case_id", "answer")}
    members = list(Membership.objects.filter(study=study).order_by("number"))
    index = {member.pk: position for position, member in enumerate(members)}
    pairs = [(index[membership_id], firsts[(membership_id, case_id)] == "real", answer == "real")
             for membership_id, case_id, answer in RepeatVote.objects.filter(membership__study=study).values_list(
                 "membership_id", "case_id", "answer")
             if (membership_id, case_id) in firsts and membership_id in index]
    reader, first_real, repeat_real = (list(column) for column in zip(*pairs, strict=True)) if pairs else ([], [], [])
    result = kappa_with_intervals(reader, first_real, repeat_real, n_readers=len(members))
    tables: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r, first, repeat in pairs:
        tables[r][(0 if first else 2) + (0 if repeat else 1)] += 1
    rows = []
    for r, member in enumerate(members):
        both_real, first_only, second_only, both_fake = tables[r]
        count = both_real + first_only + second_only + both_fake
        kappa = result["readers"][r]
        rows.append({
            "reader": member.pseudonym, "pairs": count,
            "percent_agreement": round(100 * (both_real + both_fake) / count, 1) if count else None,
            "kappa": None if kappa["kappa"] is None else round(kappa["kappa"], 3),
            "ci_low": kappa["ci_low"], "ci_high": kappa["ci_high"],
            "table": {"real_real": both_real, "real_fake": first_only, "fake_real": second_only,
                      "fake_fake": both_fake},
        })
    return {"rows": rows, "mean": result["mean"]}


def cue_tallies(study: Study) -> dict:
    """How often each cue was ticked on a Fake answer, per source and per finding (first showings only)."""
    by_source: dict[str, Counter] = defaultdict(Counter)
    by_finding: dict[str, Counter] = defaultdict(Counter)
    fake_answers = Counter()
    reasons = FakeReason.objects.filter(vote__membership__study=study).values_list(
        "cues", "vote__case__source__name", "vote__case__finding__name")
    cues_seen: dict[str, None] = dict.fromkeys(study.fake_cues.values_list("label", flat=True))
    for cues, source, finding in reasons:
        for cue in cues:
            cues_seen.setdefault(cue, None)
            by_source[source][cue] += 1
            by_finding[finding][cue] += 1
    for source, finding in Vote.objects.filter(membership__study=study, answer="fake").values_list(
            "case__source__name", "case__finding__name"):
        fake_answers[source] += 1
        fake_answers[f"finding:{finding}"] += 1
    cues = list(cues_seen)
    return {
        "cues": cues,
        "by_source": [{"source": name, "fake_answers": fake_answers[name], "counts": [counts[c] for c in cues]}
                      for name, counts in sorted(by_source.items())],
        "by_finding": [{"finding": name, "fake_answers": fake_answers[f"finding:{name}"],
                        "counts": [counts[c] for c in cues]} for name, counts in sorted(by_finding.items())],
        "with_reasons": reasons.count(),
    }


def exposure_thresholds(study: Study) -> list[dict]:
    """Per generator: each reader's threshold exposure with its 95% interval (only from 6 usable reversals on; see
    ``staircase.threshold_estimate``) and the readers' geometric mean with a t interval over the readers' log
    thresholds (readers as a sample; none with fewer than two readers' thresholds), with the current level and the
    number of trials."""
    tracks = (StaircaseTrack.objects.filter(membership__study=study)
              .select_related("membership", "source").order_by("source__order", "source__name", "membership__number"))
    by_source: dict[str, list[dict]] = defaultdict(list)
    for track in tracks:
        estimate = threshold_estimate(track.reversals)
        by_source[track.source.name].append({
            "reader": track.membership.pseudonym, "threshold_ms": estimate and estimate.threshold_ms,
            "ci_low": estimate and estimate.ci_low, "ci_high": estimate and estimate.ci_high,
            "reversals": len(track.reversals), "trials": track.trials, "level_ms": track.level_ms,
        })
    rows = []
    for source, readers in by_source.items():
        logs = [math.log(row["threshold_ms"]) for row in readers if row["threshold_ms"] is not None]
        pooled = low = high = None
        if logs:
            mean = sum(logs) / len(logs)
            pooled = math.exp(mean)
            if len(logs) >= 2:
                spread = math.sqrt(sum((value - mean) ** 2 for value in logs) / (len(logs) - 1))
                half = float(stdtrit(len(logs) - 1, 0.975)) * spread / math.sqrt(len(logs))
                low, high = math.exp(mean - half), math.exp(mean + half)
        rows.append({"source": source, "readers": readers, "threshold_ms": pooled, "ci_low": low, "ci_high": high,
                     "readers_with_threshold": len(logs)})
    return rows


def study_has_protocol_results(study: Study) -> dict:
    """Which protocol sections the results page should show."""
    flags = Study.objects.filter(pk=study.pk).aggregate(
        repeats=Count("memberships__repeat_votes", distinct=True),
        reasons=Count("memberships__votes__fake_reason", distinct=True),
        staircases=Max("memberships__staircases__trials"),
    )
    return {"repeats": bool(flags["repeats"]), "reasons": bool(flags["reasons"]) or study.fake_cues.exists(),
            "staircases": bool(flags["staircases"])}
