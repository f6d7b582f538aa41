"""Exports for the statistics tools the field uses: an iMRMC input file and a long table for R.

iMRMC (FDA/DIDSR) reads a text file: free description lines, the counts ``NR`` (readers), ``N0`` (signal-absent
cases: here the real images), ``N1`` (signal-present: the generated ones), ``NM`` (modalities), then ``BEGIN DATA:``
and one ``readerID,caseID,modalityID,score`` row per observation. Truth rows have reader ``-1`` and modality ``0``
and score 1 for a generated (positive) case, 0 for a real one. Case ids are integers (1..K by case id), as the
readers of the format (iMRMC, RJafroc) require; the description lines map them back.

Each generator is a modality: its cases are the study's real images plus that generator's images, so the same real
image appears in every modality with the same reader score. The score is the 1-10 fake-score (a sure "real" 1, a sure
"fake" 10) when the study asked for confidence, otherwise 1 for "fake" and 0 for "real". Repeats and practice
answers are left out (first showings only).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from readerstudy.protocol.models import FakeReason, RepeatVote, SequenceSlot
from readerstudy.protocol.services import protocol_for
from readerstudy.studies.models import Case, Membership, Study, Vote

from .export import iso_utc, neutralise
from .selectors import excluded_cases


def fake_score(answer: str, confidence: int | None) -> int:
    """The results page's 1-10 scale when there is a confidence, else 1 for fake and 0 for real."""
    if confidence is None:
        return 1 if answer == "fake" else 0
    return 5 + confidence if answer == "fake" else 6 - confidence


def imrmc_text(study: Study) -> str:
    cases = list(Case.objects.filter(study=study).included().select_related("source").order_by("pk"))
    number = {case.pk: index for index, case in enumerate(cases, start=1)}
    generators = sorted({case.source.name for case in cases if not case.source.is_real})
    readers = list(Membership.objects.filter(study=study).order_by("number"))
    votes = list(Vote.objects.filter(membership__study=study, case__study=study, case__excluded_at__isnull=True)
                 .values_list("membership__number", "case_id", "answer", "confidence")
                 .order_by("membership__number", "case_id"))
    source_of = {case.pk: case.source for case in cases}
    out = io.StringIO()
    out.write(f"iMRMC input from the reader study {study.slug} ({study.name})\n")
    out.write("Positive (signal-present) = generated image; negative = real image.\n")
    out.write("Modalities: one per generator (its images plus every real image).\n")
    out.write("Scores: 1-10 fake-score (answer and confidence) when confidence was asked, else fake=1 real=0.\n")
    out.write("Case ids: " + " ".join(f"{number[case.pk]}={case.public_id}" for case in cases) + "\n")
    excluded = excluded_cases(study)
    out.write(f"Excluded cases (not in this file): {len(excluded)}"
              + "".join(f"; {row['case']} ({row['finding']}, {row['source']}): {_one_line(row['reason'])}"
                        for row in excluded) + "\n")
    out.write(f"NR: {len(readers)}\n")
    out.write(f"N0: {sum(1 for case in cases if case.source.is_real)}\n")
    out.write(f"N1: {sum(1 for case in cases if not case.source.is_real)}\n")
    out.write(f"NM: {len(generators)}\n")
    out.write("\nBEGIN DATA:\n")
    for case in cases:
        out.write(f"-1,{number[case.pk]},0,{0 if case.source.is_real else 1}\n")
    for reader_number, case_id, answer, confidence in votes:
        source = source_of[case_id]
        modalities = generators if source.is_real else [source.name]
        for modality in modalities:
            out.write(f"R{reader_number},{number[case_id]},{modality},{fake_score(answer, confidence)}\n")
    return out.getvalue()


LONG_COLUMNS = ["study", "reader", "order_seed", "case", "finding", "source", "generator", "truth", "is_fake",
                "answer", "called_fake", "correct", "confidence", "fake_score", "time_ms", "exposure_mode",
                "exposure_ms", "position", "block", "segment", "showing", "block_size", "repeat_percent",
                "practice_count", "show_finding", "ask_confidence", "voted_at", "cues", "note"]


def long_rows(study: Study) -> Iterator[list]:
    """One row per vote (first showings and repeats; never practice) with every design variable."""
    protocol = protocol_for(study)
    design = {"exposure_mode": protocol.exposure_mode, "block_size": protocol.block_size,
              "repeat_percent": protocol.repeat_percent, "practice_count": protocol.practice_count,
              "show_finding": int(study.show_finding), "ask_confidence": int(study.ask_confidence)}
    blocks = {(m, c): (b, s) for m, c, b, s in SequenceSlot.objects.filter(
        membership__study=study, phase="study", is_repeat=False).values_list("membership_id", "case_id", "block",
                                                                             "segment")}
    reasons = {vote_id: (cues, note) for vote_id, cues, note in FakeReason.objects.filter(
        vote__membership__study=study).values_list("vote_id", "cues", "note")}
    first = (Vote.objects.filter(membership__study=study, case__study=study, case__excluded_at__isnull=True)
             .select_related("membership", "case__finding", "case__source").order_by("membership__number", "position"))
    for vote in first.iterator(chunk_size=2000):
        block, segment = blocks.get((vote.membership_id, vote.case_id), (None, None))
        cues, note = reasons.get(vote.pk, ([], ""))
        yield _long_row(study, vote, vote.case, "first", vote.position, block, segment, design, cues, note)
    repeats = (RepeatVote.objects.filter(membership__study=study, case__excluded_at__isnull=True)
               .select_related("membership", "case__finding", "case__source", "slot").order_by("membership__number"))
    for vote in repeats.iterator(chunk_size=2000):
        yield _long_row(study, vote, vote.case, "repeat", vote.slot.position, vote.slot.block, vote.slot.segment,
                        design, [], "")


def _long_row(study, vote, case, showing, position, block, segment, design, cues, note) -> list:
    truth = "real" if case.source.is_real else "fake"
    return [
        neutralise(study.slug), vote.membership.pseudonym, vote.membership.order_seed, neutralise(case.public_id),
        neutralise(case.finding.name), neutralise(case.source.name),
        "" if case.source.is_real else neutralise(case.source.name), truth, int(truth == "fake"), vote.answer,
        int(vote.answer == "fake"), int(vote.answer == truth), _na(vote.confidence),
        fake_score(vote.answer, vote.confidence), _na(vote.time_ms), design["exposure_mode"],
        _na(vote.exposure_ms), position, _na(block), _na(segment), showing, design["block_size"],
        design["repeat_percent"], design["practice_count"], design["show_finding"], design["ask_confidence"],
        iso_utc(vote.created_at), neutralise(";".join(cues)), neutralise(note),
    ]


def _one_line(text: str) -> str:
    """A reason on the iMRMC description line: one line, and no ':' that a reader of the format could take for a
    key."""
    return " ".join(text.split()).replace(":", ";")


def _na(value) -> object:
    """R reads NA as missing."""
    return "NA" if value is None else value


def long_csv(study: Study) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LONG_COLUMNS)
    for index, row in enumerate(long_rows(study), start=1):
        writer.writerow(row)
        if index % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
