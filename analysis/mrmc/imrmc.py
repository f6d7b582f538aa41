"""Read and check an iMRMC input file (the format of FDA/DIDSR iMRMC, the R iMRMC package and RJafroc).

Layout: free description lines; header counts ``N0:`` (negative cases), ``N1:`` (positive cases), ``NR:`` (readers),
``NM:`` (modalities); a line ``BEGIN DATA:``; then one ``reader,case,modality,score`` row per observation. Truth rows
have reader ``truth`` (what the R iMRMC package 2.x requires) or, in the legacy form RJafroc and older files use,
``-1``, and score 0 (negative) or 1 (positive); their modality field is ``truth`` (or ``0`` in older files).

A modality's cases are the cases any reader scored in it, so a split design (each generator with the shared real images
and its own fakes) reads as well as a fully crossed one; within a modality every reader must score every case.
Anything else is an ``ImrmcError`` that names the line and says what to do.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADER_KEYS = ("N0", "N1", "NR", "NM")
BEGIN = "BEGIN DATA:"
TRUTH_READERS = ("truth", "-1")  # the R iMRMC package's form, and the legacy one (RJafroc, the Van Dyke file)


class ImrmcError(ValueError):
    """Bad iMRMC input; the message names the line (1-based) and says how to fix it."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True)
class MrmcData:
    """Scores per reader x modality x case (nan where not scored) and each case's truth (1 positive, 0 negative)."""

    readers: list[str]
    modalities: list[str]
    cases: list[str]
    truth: np.ndarray  # (K,) int
    scores: np.ndarray  # (R, M, K) float
    description: list[str]

    @property
    def n_positive(self) -> int:
        return int(self.truth.sum())

    @property
    def n_negative(self) -> int:
        return int(len(self.truth) - self.truth.sum())


def _natural(labels) -> list[str]:
    """Numeric ids in numeric order, others after them in text order."""
    def key(label: str):
        try:
            return (0, float(label), label)
        except ValueError:
            return (1, 0.0, label)
    return sorted(labels, key=key)


def read_imrmc(path: str | Path) -> MrmcData:
    """Parse the file at ``path`` (see ``parse_imrmc``)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImrmcError(f"{path} is not a text file ({error.reason}); an iMRMC file is plain text.") from None
    return parse_imrmc(text)


def _header(lines: list[str]) -> tuple[int, dict[str, tuple[int, int]], list[str]]:
    """Index of the BEGIN DATA line, the header counts with their line numbers, the description lines."""
    counts: dict[str, tuple[int, int]] = {}
    description = []
    for index, raw in enumerate(lines):
        line = raw.strip()
        if line.upper().startswith(BEGIN[:-1].upper()):
            return index, counts, description
        key, _, value = line.partition(":")
        if key.strip().upper() in HEADER_KEYS and value.strip():
            try:
                counts[key.strip().upper()] = (int(value.strip()), index + 1)
            except ValueError:
                raise ImrmcError(f"{key.strip()} must be a whole number, not {value.strip()!r}.", index + 1) from None
        elif line:
            description.append(line)
    raise ImrmcError(f"This is not an iMRMC file: none of its {len(lines)} lines is '{BEGIN}'. An iMRMC file has "
                     "description lines, the counts N0:, N1:, NR:, NM:, a line 'BEGIN DATA:' and then "
                     "reader,case,modality,score rows (one per line; truth rows -1,case,truth,0|1).")


def parse_imrmc(text: str) -> MrmcData:
    """Parse and check iMRMC text; raise ``ImrmcError`` naming the line for any problem."""
    lines = text.splitlines()
    begin, counts, description = _header(lines)
    truth: dict[str, tuple[int, int]] = {}
    readings: dict[tuple[str, str, str], tuple[float, int]] = {}
    for index in range(begin + 1, len(lines)):
        number = index + 1
        line = lines[index].strip()
        if not line:
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 4:
            raise ImrmcError(f"expected 4 comma-separated fields reader,case,modality,score, found {len(fields)}: "
                             f"{line!r}.", number)
        reader, case, modality, score_text = fields
        if not reader or not case or not modality:
            raise ImrmcError(f"reader, case and modality must not be empty: {line!r}.", number)
        try:
            score = float(score_text)
        except ValueError:
            raise ImrmcError(f"the score {score_text!r} is not a number; every score must be numeric (a rating or "
                             "a probability).", number) from None
        if not math.isfinite(score):
            raise ImrmcError(f"the score {score_text!r} is not a finite number.", number)
        if reader in TRUTH_READERS:
            if score not in (0.0, 1.0):
                raise ImrmcError(f"a truth row's score is 0 (negative) or 1 (positive), not {score_text!r}.", number)
            if case in truth and truth[case][0] != int(score):
                raise ImrmcError(f"case {case} has a second, different truth (first on line {truth[case][1]}); give "
                                 "each case one truth row.", number)
            truth[case] = (int(score), number)
            continue
        key = (reader, modality, case)
        if key in readings:
            raise ImrmcError(f"reader {reader} scored case {case} in modality {modality} twice (first on line "
                             f"{readings[key][1]}); keep one row.", number)
        readings[key] = (score, number)
    return _assemble(truth, readings, counts, description, len(lines))


def _assemble(truth: dict[str, tuple[int, int]], readings: dict[tuple[str, str, str], tuple[float, int]],
              counts: dict[str, tuple[int, int]], description: list[str], n_lines: int) -> MrmcData:
    if not readings:
        raise ImrmcError("the file has no reading rows after 'BEGIN DATA:'; add reader,case,modality,score rows.",
                         n_lines)
    for (_, _, case), (_, number) in readings.items():
        if case not in truth:
            raise ImrmcError(f"case {case} has scores but no truth row; add '-1,{case},truth,<0|1>' after "
                             "'BEGIN DATA:'.", number)
    scored_cases = {case for _, _, case in readings}
    for case, (_, number) in truth.items():
        if case not in scored_cases:
            raise ImrmcError(f"case {case} has a truth row but no reader scored it; remove the row or add its "
                             "scores.", number)
    readers = _natural({reader for reader, _, _ in readings})
    modalities = _natural({modality for _, modality, _ in readings})
    cases = _natural(truth)
    first_line = min(number for _, number in readings.values())
    if len(modalities) < 2:
        raise ImrmcError(f"only one modality ({modalities[0]}) is scored; the analysis compares modalities and needs "
                         "at least two.", counts.get("NM", (0, first_line))[1])
    if len(readers) < 2:
        raise ImrmcError(f"only one reader ({readers[0]}) scored; the analysis needs at least two readers (for one "
                         "reader use a single-reader method such as DeLong's test).",
                         counts.get("NR", (0, first_line))[1])
    case_truth = np.array([truth[case][0] for case in cases], dtype=np.int64)
    if case_truth.min() == case_truth.max():
        kind = "positive (1)" if case_truth[0] else "negative (0)"
        raise ImrmcError(f"every case is {kind}; an AUC needs both negative (0) and positive (1) cases.",
                         min(number for _, number in truth.values()))
    r_index = {label: i for i, label in enumerate(readers)}
    m_index = {label: i for i, label in enumerate(modalities)}
    k_index = {label: i for i, label in enumerate(cases)}
    scores = np.full((len(readers), len(modalities), len(cases)), np.nan)
    lines = np.zeros(scores.shape, dtype=np.int64)
    for (reader, modality, case), (score, number) in readings.items():
        scores[r_index[reader], m_index[modality], k_index[case]] = score
        lines[r_index[reader], m_index[modality], k_index[case]] = number
    _check_complete(scores, lines, readers, modalities, cases, case_truth)
    _check_counts(counts, case_truth, len(readers), len(modalities))
    return MrmcData(readers=readers, modalities=modalities, cases=cases, truth=case_truth, scores=scores,
                    description=description)


def _check_complete(scores: np.ndarray, lines: np.ndarray, readers: list[str], modalities: list[str],
                    cases: list[str], truth: np.ndarray) -> None:
    """Within each modality every reader scores every case of the modality; each modality has both truths."""
    present = ~np.isnan(scores)
    in_modality = present.any(axis=0)  # (M, K)
    for m, modality in enumerate(modalities):
        if not present[:, m].any():
            continue
        for r, reader in enumerate(readers):
            missing = in_modality[m] & ~present[r, m]
            if missing.any():
                k = int(np.argmax(missing))
                other = int(lines[:, m, k].max())
                n_missing = int(missing.sum())
                if not present[r, m].any():
                    raise ImrmcError(f"reader {reader} has no scores in modality {modality}, which other readers "
                                     f"scored (e.g. case {cases[k]} here); every reader must score every case of "
                                     "each modality: add the reader's scores or remove the reader.", other)
                raise ImrmcError(f"reader {reader} has no score for case {cases[k]} in modality {modality} "
                                 f"({n_missing} missing in all), which other readers scored here; every reader must "
                                 "score every case of each modality: add the missing rows or drop the case.", other)
        labels = truth[in_modality[m]]
        if labels.min() == labels.max():
            k = int(np.argmax(in_modality[m]))
            raise ImrmcError(f"modality {modality} has only {'positive' if labels[0] else 'negative'} cases; each "
                             "modality needs both negative and positive cases for an AUC.", int(lines[:, m, k].max()))


def _check_counts(counts: dict[str, tuple[int, int]], truth: np.ndarray, n_readers: int, n_modalities: int) -> None:
    """The header's counts, where given, must match the data (a mismatch often means a cut-off file)."""
    found = {"N0": int((truth == 0).sum()), "N1": int((truth == 1).sum()), "NR": n_readers, "NM": n_modalities}
    meaning = {"N0": "negative cases", "N1": "positive cases", "NR": "readers", "NM": "modalities"}
    for key, (value, number) in counts.items():
        if value != found[key]:
            raise ImrmcError(f"{key}: {value} but the data have {found[key]} {meaning[key]}; correct the header or "
                             "check that the file is complete.", number)
