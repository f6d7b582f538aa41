"""The marks as a JAFROC workbook for RJafroc (``analysis.marks.jafroc``), for download by the study's admins."""
from __future__ import annotations

import io

import numpy as np
from django.http import Http404, HttpResponse

from analysis.marks.jafroc import jafroc_tables, write_jafroc
from readerstudy.studies.models import Study

from .marks import StudyMarks, study_marks

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def study_jafroc_tables(marks: StudyMarks, generator: str | None = None):
    """The real images and the fakes (of ``generator`` only, when given; ValueError for a name not among them)."""
    source = np.array(marks.case_source, dtype=object)
    is_real = np.array(marks.case_source_is_real, dtype=bool)
    if generator is not None and generator not in marks.generators:
        raise ValueError(f"No generator {generator!r} in this study: one of {', '.join(marks.generators)}.")
    chosen = is_real | ((source == generator) if generator is not None else ~is_real)
    labels = [f"{public_id} ({name}, {finding})" for public_id, name, finding
              in zip(marks.case_public_ids, marks.case_source, marks.case_finding, strict=True)]
    numbers = [int(label.lstrip("R")) for label in marks.readers]
    return jafroc_tables(marks.data, numbers, chosen, labels)


def jafroc_download(study: Study, generator: str | None) -> HttpResponse:
    try:
        tables = study_jafroc_tables(study_marks(study), generator)
    except ValueError as missing:
        raise Http404(str(missing)) from None
    buffer = io.BytesIO()
    write_jafroc(tables, buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    name = f"{study.slug}-marks-jafroc{'-' + generator if generator else ''}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
