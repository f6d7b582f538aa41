"""Reads for the batch pages: a study's batches and its composition (cases by finding x source)."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from readerstudy.studies.models import Case, Finding, Source, Study

from .models import Batch
from .quality import QualityTable, quality_table

# The paper's design: 6 findings x 4 sources (Real, StarGAN, Pix2Pix, Pix2Pix-N) x 25 images = 600 cases.
PAPER_FINDINGS, PAPER_SOURCES, PAPER_PER_CELL = 6, 4, 25


@dataclass
class Composition:
    """Case counts by finding (rows) and source (columns), with totals and warnings against the paper's design."""

    findings: list[Finding]
    sources: list[Source]
    rows: list[tuple[Finding, list[tuple[Source, int]], int]]  # (finding, (source, count) per source, row total)
    column_totals: list[int]
    total: int
    warnings: list[str] = field(default_factory=list)
    excluded: int = 0  # cases an admin excluded: not read, so not counted in the table

    def count(self, finding_slug: str, source_slug: str) -> int:
        for finding, cells, _ in self.rows:
            if finding.slug == finding_slug:
                return dict((source.slug, n) for source, n in cells)[source_slug]
        raise KeyError(finding_slug)

    @property
    def matches_paper(self) -> bool:
        return not self.warnings


def _design_warnings(findings, sources, counts: dict, total: int) -> list[str]:
    warnings = []
    if len(findings) != PAPER_FINDINGS:
        warnings.append(f"The study has {len(findings)} findings; the paper's design has {PAPER_FINDINGS}.")
    if len(sources) != PAPER_SOURCES:
        warnings.append(f"The study has {len(sources)} sources; the paper's design has {PAPER_SOURCES}.")
    off = [(f, s, counts.get((f.pk, s.pk), 0)) for f in findings for s in sources
           if counts.get((f.pk, s.pk), 0) != PAPER_PER_CELL]
    if off:
        examples = ", ".join(f"{f.name} x {s.name}: {n}" for f, s, n in off[:4])
        more = f" and {len(off) - 4} more" if len(off) > 4 else ""
        warnings.append(f"{len(off)} cell(s) differ from the paper's {PAPER_PER_CELL} images per finding and source "
                        f"({examples}{more}).")
    expected = PAPER_FINDINGS * PAPER_SOURCES * PAPER_PER_CELL
    if total != expected:
        warnings.append(f"The study has {total} cases; the paper's design has {expected}.")
    return warnings


def study_composition(study: Study) -> Composition:
    """The study's table of cases by finding x source (its configured rows plus any row a case uses); excluded cases
    are left out of the counts (readers never see them) and counted apart."""
    counts = {
        (row["finding"], row["source"]): row["n"]
        for row in Case.objects.filter(study=study).included().values("finding", "source").annotate(n=Count("pk"))
    }
    finding_ids = set(study.findings.values_list("pk", flat=True)) | {f for f, _ in counts}
    source_ids = set(study.sources.values_list("pk", flat=True)) | {s for _, s in counts}
    findings = list(Finding.objects.filter(pk__in=finding_ids))
    sources = list(Source.objects.filter(pk__in=source_ids))
    rows = []
    for finding in findings:
        cells = [(source, counts.get((finding.pk, source.pk), 0)) for source in sources]
        rows.append((finding, cells, sum(n for _, n in cells)))
    column_totals = [sum(counts.get((finding.pk, source.pk), 0) for finding in findings) for source in sources]
    total = sum(counts.values())
    return Composition(findings=findings, sources=sources, rows=rows, column_totals=column_totals, total=total,
                       warnings=_design_warnings(findings, sources, counts, total),
                       excluded=Case.objects.filter(study=study).excluded().count())


def batch_quality(batch: Batch) -> QualityTable | None:
    """The batch audit's findings x sources quality table, rows and columns in the study's order."""
    return quality_table(batch.audit, finding_order=list(Finding.objects.values_list("name", flat=True)),
                         source_order=list(Source.objects.values_list("name", flat=True)))


def batches_of(study: Study):
    return Batch.objects.filter(study=study).select_related("uploaded_by").order_by("-created_at")


@dataclass
class AuditSummary:
    """What the batch page shows of a provenance.json: counts, the box check, quality figures and per-image rows."""

    images: int
    box_checked: int
    box_identical: int
    max_abs_diff_in_box: float | None
    quality: list[tuple[str, object]]
    columns: list[str]
    rows: list[list[object]]
    other_keys: list[str]

    @property
    def all_boxes_identical(self) -> bool:
        return self.box_checked > 0 and self.box_identical == self.box_checked


def _flatten(value, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        items = []
        for key, inner in value.items():
            items.extend(_flatten(inner, f"{prefix} / {key}" if prefix else str(key)))
        return items
    return [(prefix, value)]


def audit_summary(audit: dict) -> AuditSummary | None:
    """A compact view of ``batch.audit`` (None when the zip carried no provenance.json)."""
    if not audit:
        return None
    records = [record for record in audit.get("images") or [] if isinstance(record, dict)]
    # A record with no box to check (a real image, StarGAN) says ``"box_identical": null``: not a failed check.
    checked = [record for record in records if isinstance(record.get("box_identical"), bool)]
    diffs = [record["max_abs_diff_in_box"] for record in records
             if isinstance(record.get("max_abs_diff_in_box"), (int, float))]
    columns: list[str] = []
    for record in records:
        columns.extend(key for key in record if key not in columns)
    if "filename" in columns:
        columns.remove("filename")
        columns.insert(0, "filename")
    quality = audit.get("quality")
    return AuditSummary(
        images=len(records),
        box_checked=len(checked),
        box_identical=sum(1 for record in checked if record["box_identical"] is True),
        max_abs_diff_in_box=max(diffs) if diffs else None,
        quality=_flatten(quality) if isinstance(quality, dict) else [],
        columns=columns,
        rows=[[record.get(column, "") for column in columns] for record in records],
        other_keys=sorted(key for key in audit if key not in ("images", "quality")),
    )


PLAN_COLUMNS = ("origins", "seen", "unseen", "mean_box_area", "multi_label", "PA", "AP", "patients")
"""As ``generation.plan.TABLE_COLUMNS``; a batch generated before box area and patients were recorded shows them
empty."""


@dataclass
class PlanTable:
    """The verification set's per-cell plan from provenance.json: per source x finding, how its origins were drawn."""

    pairing: str
    per_cell: int | None
    inference: str
    rows: list[dict]  # source, finding and the PLAN_COLUMNS counts
    patients: dict = field(default_factory=dict)  # generation.plan.patient_overlap, where recorded
    notes: list = field(default_factory=list)  # soft constraints met only in part (the Real column's label mix)
    area_tolerance: float | None = None

    @property
    def seen_equal_for_pix2pix(self) -> bool:
        """Pix2Pix and Pix2Pix-N saw as many of their origins in training in every finding (Table 1's equal terms)."""
        seen = {(row["source"], row["finding"]): row["seen"] for row in self.rows}
        findings = {finding for source, finding in seen if source == "Pix2Pix"}
        return all(seen.get(("Pix2Pix", f)) == seen.get(("Pix2Pix-N", f)) for f in findings)


def plan_table(audit: dict) -> PlanTable | None:
    """The per-cell plan recorded by ``python -m generation`` (None for a batch without one)."""
    plan = audit.get("plan") if isinstance(audit, dict) else None
    if not isinstance(plan, dict) or not isinstance(plan.get("cells"), list):
        return None
    rows = [{"source": str(cell.get("source", "")), "finding": str(cell.get("finding", "")),
             **{column: "" if cell.get(column) is None else cell[column] for column in PLAN_COLUMNS}}
            for cell in plan["cells"] if isinstance(cell, dict)]
    patients = plan.get("patients") if isinstance(plan.get("patients"), dict) else {}
    notes = [note for note in plan.get("notes") or [] if isinstance(note, dict)]
    tolerance = plan.get("area_tolerance")
    inference = audit.get("inference") if isinstance(audit.get("inference"), dict) else {}
    return PlanTable(pairing=str(plan.get("pairing", "")), per_cell=plan.get("per_cell"),
                     inference=str(inference.get("mode", "")), rows=rows, patients=patients, notes=notes,
                     area_tolerance=tolerance if isinstance(tolerance, int | float) else None)
