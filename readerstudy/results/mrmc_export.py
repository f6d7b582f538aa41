"""Exports for the statistics tools the field uses: an iMRMC input file and a long table for R.

The iMRMC file follows the layout of the Van Dyke reference file (``tests/data/vandyke.imrmc``), which the R iMRMC
package, RJafroc's ``DfReadDataFile(format = "iMRMC")`` and the Java iMRMC all read: description lines (here also the
key from the file's numeric ids back to pseudonyms, generators and case ids), the counts ``N0:`` (negative cases: the
real images), ``N1:`` (positive: the generated ones), ``NR:`` (readers), ``NM:`` (modalities), ``BEGIN DATA:``, then
truth rows ``truth,<case>,truth,<0|1>`` (R iMRMC 2.x stops with "There is no truth reader" on the legacy ``-1``, which
``parse_imrmc`` still reads) and one ``<reader>,<case>,<modality>,<score>`` row per observation. Every other id is a
number (1, 2, ...): RJafroc stops on a reader id such as ``R1``. Every description line is one line whatever the
study's, a source's or a reason's text holds (``_one_line``: no line break, no ``BEGIN DATA:``, no ``key:``), so no
name can inject a header line.

RJafroc reads only fully crossed files (every reader x modality x case) with legacy ``-1`` truth rows: each
generator's fakes are its own cases, so it cannot read this file (see ``crossed_exports`` for what it can read).

Each generator is a modality: its cases are the study's real images plus that generator's images (a split design:
the same real image appears in every modality with the same score). Only readers with at least one exported score
count, and only cases someone scored, so the counts describe the data below them. The score is the 1-10 fake-score
(a sure "real" 1, a sure "fake" 10) when the study asks for confidence; a vote without a rating is then left out (as
on the results page; the API refuses such votes since). When the study does not ask, the score is binary (1 called
fake, 0 called real), the file says so, and an AUC from it is the binary AUC, (sensitivity + specificity) / 2.
Repeats and practice answers are left out (first showings only).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from analysis.mrmc import fom
from readerstudy.reading.models import FakeReason, RepeatVote, SequenceSlot, Vote
from readerstudy.reading.services import protocol_for
from readerstudy.studies.models import Case, Study

from .export import iso_utc, neutralise
from .selectors import excluded_cases


def fake_score(answer: str, confidence: int) -> int:
    """One vote's fake-score (``fom.fake_score``: the results page's 1-10 scale)."""
    return int(fom.fake_score(answer != "fake", confidence))


def binary_score(answer: str) -> int:
    return 1 if answer == "fake" else 0


@dataclass(frozen=True)
class ImrmcExport:
    """The file's text and what it holds (for the tests and the page's download note)."""

    text: str
    binary: bool
    readers: dict[int, str]  # iMRMC reader id -> pseudonym
    modalities: dict[int, str]  # iMRMC modality id -> generator
    cases: dict[int, str]  # iMRMC case id -> the case's public id
    left_out_unrated: int


def imrmc_export(study: Study) -> ImrmcExport:
    """The study's first-showing votes as an iMRMC input file (one modality per generator, numeric ids with a key)."""
    binary = not study.ask_confidence
    cases = {case.pk: case for case in Case.objects.filter(study=study).included().select_related("source")
             .order_by("pk")}
    votes = list(Vote.objects.filter(membership__study=study, case__study=study, case__excluded_at__isnull=True)
                 .values_list("membership__number", "case_id", "answer", "confidence")
                 .order_by("membership__number", "case_id"))
    unrated = [vote for vote in votes if vote[3] is None]
    if not binary:
        votes = [vote for vote in votes if vote[3] is not None]
    generator_order = [source for source in dict.fromkeys(
        case.source for case in sorted(cases.values(), key=lambda case: (case.source.order, case.source.name))
        if not case.source.is_real)]
    scored_generators = {cases[case_id].source.pk for _, case_id, _, _ in votes if not cases[case_id].source.is_real}
    generators = [source for source in generator_order if source.pk in scored_generators]
    modality_id = {source.pk: index for index, source in enumerate(generators, start=1)}
    reader_id = {number: index for index, number in enumerate(sorted({vote[0] for vote in votes}), start=1)}
    scored_cases = sorted({case_id for _, case_id, _, _ in votes})
    case_id_of = {pk: index for index, pk in enumerate(scored_cases, start=1)}

    out = io.StringIO()
    out.write(f"iMRMC input from the reader study {study.slug} ({_one_line(study.name)})\n")
    out.write("Positive (signal-present) = generated image; negative = real image.\n")
    out.write("Modalities: one per generator (its images plus every real image); first showings only.\n")
    if binary:
        out.write("Scores are BINARY (1 = called fake, 0 = called real): the study did not ask for confidence, so an "
                  "AUC from this file is the binary AUC, (sensitivity + specificity) / 2, one point of the ROC "
                  "curve.\n")
    else:
        out.write("Scores: 1-10 fake-score ('fake' with confidence c scores 5 + c, 'real' 6 - c).\n")
        if unrated:
            out.write(f"Left out: {len(unrated)} vote(s) without a confidence rating.\n")
    excluded = excluded_cases(study)
    out.write(f"Excluded cases (not in this file): {len(excluded)}"
              + "".join(f"; {row['case']} ({row['finding']}, {row['source']}): {_one_line(row['reason'])}"
                        for row in excluded) + "\n")
    for number, index in reader_id.items():
        out.write(f"Reader {index} = R{number}\n")
    for source in generators:
        out.write(f"Modality {modality_id[source.pk]} = {_one_line(source.name)}\n")
    out.write("Cases (id = case): " + " ".join(f"{case_id_of[pk]}={cases[pk].public_id}" for pk in scored_cases)
              + "\n")
    out.write(f"N0:{sum(1 for pk in scored_cases if cases[pk].source.is_real)}\n")
    out.write(f"N1:{sum(1 for pk in scored_cases if not cases[pk].source.is_real)}\n")
    out.write(f"NR:{len(reader_id)}\n")
    out.write(f"NM:{len(generators)}\n")
    out.write("BEGIN DATA:\n")
    for pk in scored_cases:
        out.write(f"truth,{case_id_of[pk]},truth,{0 if cases[pk].source.is_real else 1}\n")
    for number, case_pk, answer, confidence in votes:
        source = cases[case_pk].source
        score = binary_score(answer) if binary else fake_score(answer, confidence)
        for modality in (generators if source.is_real else [source]):
            out.write(f"{reader_id[number]},{case_id_of[case_pk]},{modality_id[modality.pk]},{score}\n")
    return ImrmcExport(text=out.getvalue(), binary=binary,
                       readers={index: f"R{number}" for number, index in reader_id.items()},
                       modalities={modality_id[source.pk]: source.name for source in generators},
                       cases={case_id_of[pk]: cases[pk].public_id for pk in scored_cases},
                       left_out_unrated=0 if binary else len(unrated))


def imrmc_text(study: Study) -> str:
    return imrmc_export(study).text


LONG_COLUMNS = ["study", "reader", "order_seed", "case", "finding", "source", "generator", "truth", "is_fake",
                "answer", "called_fake", "correct", "confidence", "fake_score", "time_ms", "exposure_mode",
                "exposure_ms", "position", "block", "segment", "showing", "block_size", "repeat_percent",
                "practice_count", "show_finding", "ask_confidence", "voted_at", "cues", "note"]


def long_rows(study: Study) -> Iterator[list]:
    """One row per vote (first showings and repeats; never practice) with every design variable. ``fake_score`` is
    NA for a vote without a confidence rating (``called_fake`` is its binary answer)."""
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
        _na(None if vote.confidence is None else fake_score(vote.answer, vote.confidence)),
        _na(vote.time_ms), design["exposure_mode"],
        _na(vote.exposure_ms), position, _na(block), _na(segment), showing, design["block_size"],
        design["repeat_percent"], design["practice_count"], design["show_finding"], design["ask_confidence"],
        iso_utc(vote.created_at), neutralise(";".join(cues)), neutralise(note),
    ]


def _one_line(text: str) -> str:
    """Text on an iMRMC description line (a study or source name, an exclusion reason): one line (every line break
    and control character folded into a space), and no ':' that a reader of the format could take for a key or for
    ``BEGIN DATA:`` (R's iMRMC finds that marker anywhere in a line)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split()).replace(":", ";")


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


@dataclass(frozen=True)
class CrossedExport:
    """One comparison of two generators as RJafroc can read it, or why it cannot: ``text`` None and ``reason``."""

    first: str
    second: str
    text: str | None
    reason: str = ""
    origins: int = 0
    readers: int = 0


def crossed_exports(study: Study) -> list[CrossedExport]:
    """For every pair of generators, a fully crossed iMRMC file (legacy ``-1`` truth rows, as RJafroc wants) where
    the design allows one: the cases are the real images (scored once, the same in both modalities) and the origin
    images both generators made a fake of (matched pairing: in modality 1 the first generator's fake of that origin,
    in modality 2 the second's), read by the readers who scored all of them. Where the two generators share no
    origin (each generator's fakes are its own cases) ``text`` is None and ``reason`` says that only iMRMC (or the
    project's own ``manage.py mrmc``) can analyse that comparison."""
    binary = not study.ask_confidence
    cases = {case.pk: case for case in Case.objects.filter(study=study).included().select_related("source")}
    score: dict[tuple[int, int], int] = {}
    for number, case_pk, answer, confidence in Vote.objects.filter(
            membership__study=study, case__study=study, case__excluded_at__isnull=True).values_list(
            "membership__number", "case_id", "answer", "confidence"):
        if binary or confidence is not None:
            score[(number, case_pk)] = binary_score(answer) if binary else fake_score(answer, confidence)
    readers_all = sorted({number for number, _ in score})
    real = sorted(pk for pk, case in cases.items() if case.source.is_real)
    generators = list(dict.fromkeys(case.source for case in sorted(cases.values(), key=lambda c: (c.source.order,
                                                                                                   c.source.name))
                                    if not case.source.is_real))
    by_origin = {source.pk: {} for source in generators}
    for pk, case in cases.items():
        origin = str((case.provenance or {}).get("origin_image") or "")
        if not case.source.is_real and origin:
            by_origin[case.source.pk].setdefault(origin, pk)
    out = []
    for index, first in enumerate(generators):
        for second in generators[index + 1:]:
            matched = sorted(set(by_origin[first.pk]) & set(by_origin[second.pk]))
            pair = [by_origin[first.pk], by_origin[second.pk]]
            if not matched:
                out.append(CrossedExport(first.name, second.name, None, (
                    f"{first.name} and {second.name} share no origin image (each generator's fakes are its own "
                    "cases): RJafroc reads only fully crossed files, so only iMRMC (the study's iMRMC export) or "
                    "manage.py mrmc can analyse this comparison.")))
                continue
            needed = [*real, *(pair[0][o] for o in matched), *(pair[1][o] for o in matched)]
            readers = [number for number in readers_all if all((number, pk) in score for pk in needed)]
            if len(readers) < 2:
                out.append(CrossedExport(first.name, second.name, None, (
                    f"{len(matched)} origin(s) are matched between {first.name} and {second.name}, but fewer than "
                    "two readers scored every real image and every matched fake: no crossed file yet."),
                    origins=len(matched), readers=len(readers)))
                continue
            lines = [f"Fully crossed iMRMC input (RJafroc) from the reader study {study.slug} "
                     f"({_one_line(study.name)})",
                     f"Modality 1 = {_one_line(first.name)}; modality 2 = {_one_line(second.name)}; negative cases "
                     "= the real images, positive cases = the origin images both generators made a fake of "
                     "(matched pairing)",
                     f"Readers (those who scored every case here) = {' '.join(f'R{n}' for n in readers)}",
                     f"N0:{len(real)}", f"N1:{len(matched)}", f"NR:{len(readers)}", "NM:2", "BEGIN DATA:"]
            lines += [f"-1,{k},truth,0" for k in range(1, len(real) + 1)]
            lines += [f"-1,{len(real) + k},truth,1" for k in range(1, len(matched) + 1)]
            for reader, number in enumerate(readers, start=1):
                for modality in (1, 2):
                    for k, pk in enumerate(real, start=1):
                        lines.append(f"{reader},{k},{modality},{score[(number, pk)]}")
                    for k, origin in enumerate(matched, start=len(real) + 1):
                        lines.append(f"{reader},{k},{modality},{score[(number, pair[modality - 1][origin])]}")
            out.append(CrossedExport(first.name, second.name, "\n".join(lines) + "\n", origins=len(matched),
                                     readers=len(readers)))
    return out
