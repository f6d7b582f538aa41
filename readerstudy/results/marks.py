"""Where readers marked the images, against what each pixel is: the study's marks as ``analysis.marks`` arrays, and
the marks section of the results (box avoidance, the change attraction on StarGAN images whose origin the batch
carried, marks per read, the localisation figure with its OR analysis), cached like the rest of the results until
the next vote. An origin (``Case.origin_file``) is read here and in the marks pictures only, never served.

The OR-Hillis analysis is reached through ``_or_hillis`` alone (the MRMC code is moving to ``analysis.mrmc``: the
one import block marked below is what to repoint).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.core.cache import cache
from django.core.files.storage import default_storage
from PIL import Image

from analysis.marks.changes import CHANGE_QUANTILE, change_attraction, most_changed
from analysis.marks.regions import IMAGE_SIZE, CaseTruth, PixelKind, box_pasted_back, case_truth, change_map
from analysis.marks.statistics import MarkData, box_avoidance, localisation_scores, marks_per_read, wafroc
from analysis.mrmc.study import json_ready
from analysis.mrmc.study import study_mrmc as _or_hillis
from analysis.statistics import ALL
from readerstudy.batches.models import Batch
from readerstudy.reading.models import Mark, MarksMode, StudyProtocol, Vote
from readerstudy.studies.models import Answer, Case, Study

from . import selectors

CACHE_SECONDS = 7 * 24 * 3600

GENERALISES_TO = {
    "box_avoidance": "other readers like these reading other images of the same generator and finding (readers and "
                     "cases both random: two-way bootstrap, t interval with Satterthwaite's df)",
    "marks_per_read": "other readers like these reading other images of the same source (readers and cases random)",
    "change_attraction": "other readers like these reading other images of the same generator and finding whose "
                         "origins are known (readers and cases both random: two-way bootstrap, t interval with "
                         "Satterthwaite's df)",
}


@dataclass(frozen=True)
class StudyMarks:
    """A study's first-showing reads and marks (``data``), with each case's labels and each reader's pseudonym."""

    data: MarkData
    readers: list[str]
    case_ids: list[int]
    case_public_ids: list[str]
    case_images: list[str]
    case_source: list[str]
    case_source_is_real: list[bool]
    case_finding: list[str]
    read_called_real: np.ndarray
    sources: list[str]  # the study's sources in display order, Real first
    findings: list[str]
    case_origins: list[str] = field(default_factory=list)  # each case's stored origin ("" where the batch had none)

    @property
    def generators(self) -> list[str]:
        """The sources of the study's fakes, in display order."""
        fake = {name for name, is_real in zip(self.case_source, self.case_source_is_real, strict=True) if not is_real}
        return [name for name in self.sources if name in fake]


def _audit_records(batch_ids: set[int]) -> dict[int, dict[str, dict]]:
    """Per batch, the generation audit's record of each file (by its file name in the batch)."""
    records: dict[int, dict[str, dict]] = {}
    for batch_id, audit in Batch.objects.filter(pk__in=batch_ids).values_list("pk", "audit"):
        images = audit.get("images") if isinstance(audit, dict) else None
        records[batch_id] = {record["filename"]: record for record in images or []
                             if isinstance(record, dict) and isinstance(record.get("filename"), str)}
    return records


def _truth(provenance: dict, is_real: bool, source_slug: str, record: dict | None) -> CaseTruth:
    provenance = provenance if isinstance(provenance, dict) else {}
    box = provenance.get("bbox_224")
    box = box if isinstance(box, list | tuple) and len(box) == 4 else None
    return case_truth(is_real=is_real, box=box,
                      box_pasted_back=box_pasted_back(source_slug=source_slug, audit_record=record))


def study_marks(study: Study) -> StudyMarks:
    """The study's included cases with what their pixels are, its first-showing votes and their marks (4 queries)."""
    layout = selectors.study_layout(study)
    rows = list(Case.objects.filter(study=study).included().order_by("pk").values_list(
        "pk", "public_id", "image", "provenance", "batch_id", "source__name", "source__slug", "source__is_real",
        "finding__name", "origin_file"))
    records = _audit_records({row[4] for row in rows if row[4] is not None})
    cases = []
    for _pk, _public, _image, provenance, batch_id, _name, slug, is_real, _finding, _origin in rows:
        filename = provenance.get("original_filename") if isinstance(provenance, dict) else None
        record = records.get(batch_id, {}).get(filename) if batch_id is not None and filename else None
        cases.append(_truth(provenance, is_real, slug, record))
    case_index = {row[0]: k for k, row in enumerate(rows)}
    reader_index = {pk: r for r, pk in enumerate(layout.reader_ids)}
    votes = [vote for vote in Vote.objects.filter(membership__study=study, case_id__in=case_index)
             .values_list("pk", "membership_id", "case_id", "answer") if vote[1] in reader_index]
    read_of_vote = {vote[0]: index for index, vote in enumerate(votes)}
    marks = [mark for mark in Mark.objects.filter(vote__membership__study=study)
             .values_list("vote_id", "x", "y", "confidence") if mark[0] in read_of_vote]
    data = MarkData.build(
        n_readers=len(layout.reader_ids), cases=cases,
        read_reader=[reader_index[vote[1]] for vote in votes], read_case=[case_index[vote[2]] for vote in votes],
        mark_read=[read_of_vote[mark[0]] for mark in marks], mark_x=[mark[1] for mark in marks],
        mark_y=[mark[2] for mark in marks],
        mark_rating=[np.nan if mark[3] is None else mark[3] for mark in marks])
    return StudyMarks(
        data=data, readers=layout.labels.readers, case_ids=[row[0] for row in rows],
        case_public_ids=[row[1] for row in rows], case_images=[str(row[2]) for row in rows],
        case_source=[row[5] for row in rows], case_source_is_real=[row[7] for row in rows],
        case_finding=[row[8] for row in rows],
        read_called_real=np.array([vote[3] == Answer.REAL for vote in votes], dtype=bool),
        sources=layout.source_names, findings=layout.finding_names, case_origins=[str(row[9] or "") for row in rows])


def stored_gray(name: str) -> np.ndarray | None:
    """A stored image's 8-bit gray pixels, or None when it is missing or unreadable."""
    if not name:
        return None
    try:
        with default_storage.open(name, "rb") as stored:
            return np.asarray(Image.open(stored).convert("L"))
    except (FileNotFoundError, OSError, ValueError):
        return None


def case_change_map(marks: StudyMarks, k: int) -> np.ndarray | None:
    """How much each pixel of case ``k`` changed from its origin (0..1), where the case is generated everywhere and
    its batch carried the origin; None otherwise (or where either file cannot be read as a 224 px image)."""
    if marks.data.cases[k].kind != PixelKind.ALL_GENERATED or not marks.case_origins or not marks.case_origins[k]:
        return None
    fake, origin = stored_gray(marks.case_images[k]), stored_gray(marks.case_origins[k])
    if fake is None or origin is None or fake.shape != origin.shape or fake.shape != (IMAGE_SIZE, IMAGE_SIZE):
        return None
    return change_map(fake, origin)


def _interval(estimate) -> dict:
    return {"estimate": estimate.estimate, "low": estimate.low, "high": estimate.high, "readers": estimate.readers,
            "cases": estimate.cases}


def _box_rows(marks: StudyMarks) -> list[dict]:
    """Box avoidance per box-keeping generator, for all findings and for each finding."""
    source = np.array(marks.case_source, dtype=object)
    finding = np.array(marks.case_finding, dtype=object)
    box_kept = np.array([case.kept_box is not None for case in marks.data.cases], dtype=bool)
    rows = []
    for generator in marks.generators:
        in_generator = (source == generator) & box_kept
        if not in_generator.any():
            continue
        for name in [ALL, *marks.findings]:
            group = in_generator if name == ALL else in_generator & (finding == name)
            if not group.any():
                continue
            result = box_avoidance(marks.data, group)
            rows.append({"generator": generator, "finding": name, "marks": result.marks, "images": result.images,
                         "share_inside": result.share_inside, "box_share": result.box_share,
                         **_interval(result.ratio)})
    return rows


def _change_section(marks: StudyMarks) -> dict:
    """The change attraction per generator of images generated everywhere, for all findings and for each finding,
    over the images whose origin the batch carried; a note per generator whose batch carried none (or not all)."""
    source = np.array(marks.case_source, dtype=object)
    finding = np.array(marks.case_finding, dtype=object)
    all_generated = np.array([case.kind == PixelKind.ALL_GENERATED for case in marks.data.cases], dtype=bool)
    changed: list[np.ndarray | None] = [None] * len(marks.data.cases)
    for k in np.flatnonzero(all_generated):
        change = case_change_map(marks, int(k))
        changed[k] = None if change is None else most_changed(change)
    has_origin = np.array([mask is not None for mask in changed], dtype=bool)
    rows, notes = [], []
    for generator in marks.generators:
        in_generator = (source == generator) & all_generated
        images, known = int(in_generator.sum()), int((in_generator & has_origin).sum())
        if not images:
            continue
        if not known:
            notes.append(f"{generator} origins not in the batch: no change map")
            continue
        if known < images:
            notes.append(f"{generator}: origins for {known} of {images} images; the figure rests on those")
        for name in [ALL, *marks.findings]:
            group = in_generator & has_origin & ((finding == name) if name != ALL else True)
            if not group.any():
                continue
            result = change_attraction(marks.data, group, changed)
            rows.append({"generator": generator, "finding": name, "marks": result.marks, "images": result.images,
                         "share_on": result.share_on, "area_share": result.area_share, **_interval(result.ratio)})
    return {"rows": rows, "notes": notes, "quantile": CHANGE_QUANTILE}


def _per_read_rows(marks: StudyMarks) -> list[dict]:
    source = np.array(marks.case_source, dtype=object)
    rows = []
    for name in marks.sources:
        group = source == name
        if group.any():
            rows.append({"source": name, **_interval(marks_per_read(marks.data, group))})
    return rows


def _localisation(marks: StudyMarks) -> dict:
    """The wAFROC-style figure per generator (a fake found only by a mark on its generated region, against the real
    images' highest marks), analysed like the AUC by the OR-Hillis code: each generator against the others."""
    data = marks.data
    if not len(data.read_case):
        return {"note": "No reads yet.", "figures": [], "pairs": []}
    source_index = {name: s for s, name in enumerate(marks.sources)}
    source_is_real = [False] * len(marks.sources)
    for name, is_real in zip(marks.case_source, marks.case_source_is_real, strict=True):
        source_is_real[source_index[name]] = is_real
    case_source = np.array([source_index[name] for name in marks.case_source], dtype=np.int64)
    result = _or_hillis(data.read_reader, data.read_case, case_source[data.read_case], marks.read_called_real,
                        localisation_scores(data), readers=marks.readers, sources=marks.sources,
                        source_is_real=source_is_real)
    direct = {generator: float(np.nanmean(wafroc(data, np.array(marks.case_source, dtype=object) == generator)))
              for generator in marks.generators}
    if result.auc is None:
        note = result.auc_note.replace("AUCs", "localisation figures").replace("The AUC", "The localisation figure")
        return {"note": note, "figures": [], "pairs": [],
                "direct": json_ready(direct)}
    analysis = result.auc.analysis(result.lead) or result.auc.frrc
    return json_ready({
        "kind": analysis.kind, "sentence": result.lead_sentence, "generalises_to": analysis.generalises_to,
        "note": ("wAFROC-style figure of merit per generator: the probability that a fake's highest-rated mark on its "
                 "generated region outrates a real image's highest-rated mark (unmarked lowest, ties half); 0.5 is "
                 "chance. Reader-averaged, Obuchowski-Rockette with Hillis's df."),
        "figures": [{"generator": row.modality, "estimate": row.estimate, "low": row.ci_low, "high": row.ci_high}
                    for row in analysis.modalities],
        "pairs": [{"first": row.first, "second": row.second, "difference": row.difference, "low": row.ci_low,
                   "high": row.ci_high, "p_value": row.p_value} for row in analysis.differences],
        "direct": direct, "notes": result.notes,
    })


def build_marks_results(study: Study, marks: StudyMarks | None = None) -> dict:
    """The marks section of the results: what the study asks, box avoidance, marks per read, localisation."""
    protocol = StudyProtocol.objects.filter(study=study).first()
    mode = protocol.marks_mode if protocol is not None else MarksMode.OFF
    if mode == MarksMode.OFF and marks is None and not Mark.objects.filter(vote__membership__study=study).exists():
        return {"asked": False}  # one query, not every vote read into Python (0.2 s CPU at 180,000 votes)
    marks = marks if marks is not None else study_marks(study)
    total = len(marks.data.mark_read)
    if mode == MarksMode.OFF and not total:
        return {"asked": False}
    return json_ready({
        "asked": mode != MarksMode.OFF, "mode": str(MarksMode(mode).label), "marks": total,
        "reads": len(marks.data.read_case), "box_avoidance": _box_rows(marks), "change": _change_section(marks),
        "marks_per_read": _per_read_rows(marks),
        "localisation": _localisation(marks) if total else {"note": "No marks yet.", "figures": [], "pairs": []},
        "generalises_to": GENERALISES_TO,
    })


def marks_results(study: Study, version: str) -> dict:
    """``build_marks_results``, cached under the results' version (any vote, hence any mark, makes a new one)."""
    key = f"study-marks:{version}"
    cached = cache.get(key)
    if cached is None:
        cached = build_marks_results(study)
        cache.set(key, cached, CACHE_SECONDS)
    return cached
