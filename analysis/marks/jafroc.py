"""The marks as RJafroc's JAFROC workbook (the "old" Excel layout ``DfReadDataFile(path, format = "JAFROC")`` reads):

* **Truth**: CaseID, LesionID, Weight: a real image is a normal case (lesion 0, weight 0); a fake has one lesion, its
  generated region (lesion 1, weight 1).
* **TP**: ReaderID, ModalityID, CaseID, LesionID, TP_Rating: per reader and fake, its highest-rated mark on generated
  pixels (further marks on the same lesion are not false positives, as in FROC scoring).
* **FP**: ReaderID, ModalityID, CaseID, FP_Rating: every mark on a real image, and every mark on a fake that fell on
  real pixels (inside a kept box).

A rating is the mark's confidence, or 1 where the study asks none. ReaderID is the pseudonym's number (R3 -> 3);
ModalityID is 1 (one generator's fakes with the real images, or every fake). A fourth sheet, **Cases**, names each
CaseID's study case; RJafroc reads only the first three. RJafroc learns the readers from the TP and FP sheets, so a
reader who placed no mark at all is missing there (the project counts such a reader, at 0.5).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from .statistics import MarkData


@dataclass(frozen=True)
class JafrocTables:
    truth: list[tuple[int, int, float]]
    tp: list[tuple[int, int, int, int, float]]
    fp: list[tuple[int, int, int, float]]
    cases: list[tuple[int, str]]


def jafroc_tables(data: MarkData, reader_numbers: list[int], case_in_export: np.ndarray,
                  case_labels: list[str]) -> JafrocTables:
    """The three sheets' rows for the exported cases (``case_in_export``: (K,) bool; ``case_labels`` name them)."""
    chosen = np.flatnonzero(np.asarray(case_in_export, dtype=bool))
    case_id = {int(k): position for position, k in enumerate(chosen, start=1)}
    truth = [(case_id[k], 1 if data.cases[k].is_fake else 0, 1.0 if data.cases[k].is_fake else 0.0)
             for k in case_id]
    rating = np.where(np.isnan(data.mark_rating), 1.0, data.mark_rating)
    on_generated = data.marks_on_generated()
    best: dict[tuple[int, int], float] = {}
    fp = []
    for m in range(len(data.mark_read)):
        k, reader = int(data.mark_case[m]), reader_numbers[int(data.mark_reader[m])]
        if k not in case_id:
            continue
        if data.cases[k].is_fake and on_generated[m]:
            best[(reader, k)] = max(best.get((reader, k), -np.inf), float(rating[m]))
        else:
            fp.append((reader, 1, case_id[k], float(rating[m])))
    tp = [(reader, 1, case_id[k], 1, value) for (reader, k), value in sorted(best.items())]
    return JafrocTables(truth=truth, tp=tp, fp=sorted(fp),
                        cases=[(case_id[k], case_labels[k]) for k in case_id])


def write_jafroc(tables: JafrocTables, out: str | BinaryIO) -> None:
    """Write the workbook (openpyxl) to a path or a binary file."""
    from openpyxl import Workbook

    book = Workbook()
    sheets = [("Truth", ["CaseID", "LesionID", "Weight"], tables.truth),
              ("TP", ["ReaderID", "ModalityID", "CaseID", "LesionID", "TP_Rating"], tables.tp),
              ("FP", ["ReaderID", "ModalityID", "CaseID", "FP_Rating"], tables.fp),
              ("Cases", ["CaseID", "Case"], tables.cases)]
    book.remove(book.active)
    for name, header, rows in sheets:
        sheet = book.create_sheet(name)
        sheet.append(header)
        for row in rows:
            sheet.append(list(row))
    book.save(out)
