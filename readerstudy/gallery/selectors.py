"""Reads for the case gallery: a page of the study's cases by finding x source, and one case with its provenance.

The gallery page costs four queries however large the study: the findings, the sources, the count per cell, and the
page's cases (a window function numbers each cell's cases, so every cell's slice comes from one statement).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.http import Http404

from readerstudy.batches.models import Batch
from readerstudy.studies.models import Case, Finding, Source, Study

PER_CELL = 6  # thumbnails per finding x source cell on a page of the whole grid
PER_CELL_ALONE = 48  # when the filter leaves one cell
STATES = ("all", "included", "excluded")


@dataclass(frozen=True)
class GalleryFilter:
    finding: str = ""  # a finding's slug, or "" for all
    source: str = ""
    state: str = "all"  # all | included | excluded
    page: int = 1

    @classmethod
    def from_query(cls, query) -> GalleryFilter:
        """The filter from a query string; anything unknown falls back to its default (a filter never errors)."""
        state = query.get("state", "all")
        try:
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            page = 1
        return cls(finding=query.get("finding", "")[:64], source=query.get("source", "")[:64],
                   state=state if state in STATES else "all", page=min(page, 10_000))

    def query_for(self, **changes) -> str:
        """The query string of this filter with ``changes`` (defaults left out)."""
        from urllib.parse import urlencode

        values = {"finding": self.finding, "source": self.source, "state": self.state, "page": self.page, **changes}
        defaults = {"finding": "", "source": "", "state": "all", "page": 1}
        return urlencode({key: value for key, value in values.items() if value != defaults[key]})


@dataclass(frozen=True)
class GalleryCell:
    finding: Finding
    source: Source
    cases: list[Case]
    total: int  # the cell's cases under the state filter
    excluded: int  # the cell's excluded cases (whatever the filter)

    @property
    def query(self) -> str:
        return f"finding={self.finding.slug}&source={self.source.slug}"


@dataclass(frozen=True)
class GalleryPage:
    study: Study
    filter: GalleryFilter
    findings: list[Finding]  # all the study's findings (for the filter's choices)
    sources: list[Source]
    shown_sources: list[Source]  # the grid's columns under the filter
    rows: list[tuple[Finding, list[GalleryCell]]]
    per_cell: int
    pages: int
    total: int
    excluded: int

    @property
    def has_previous(self) -> bool:
        return self.filter.page > 1

    @property
    def has_next(self) -> bool:
        return self.filter.page < self.pages

    @property
    def previous_query(self) -> str:
        return self.filter.query_for(page=self.filter.page - 1)

    @property
    def next_query(self) -> str:
        return self.filter.query_for(page=self.filter.page + 1)


def _state_filter(state: str) -> Q:
    if state == "included":
        return Q(excluded_at__isnull=True)
    if state == "excluded":
        return Q(excluded_at__isnull=False)
    return Q()


def gallery_page(study: Study, wanted: GalleryFilter) -> GalleryPage:
    """One page of the grid: for every (finding, source) cell under the filter, its ``per_cell`` cases of this page
    (in import order), its count and its excluded count."""
    findings = list(Finding.objects.filter(Q(studies=study) | Q(cases__study=study)).distinct())
    sources = list(Source.objects.filter(Q(studies=study) | Q(cases__study=study)).distinct())
    shown_findings = [f for f in findings if not wanted.finding or f.slug == wanted.finding]
    shown_sources = [s for s in sources if not wanted.source or s.slug == wanted.source]
    cases = Case.objects.filter(study=study, finding__in=shown_findings, source__in=shown_sources)
    state = _state_filter(wanted.state)
    counts = {
        (row["finding_id"], row["source_id"]): (row["shown"], row["excluded"])
        for row in cases.order_by().values("finding_id", "source_id")
        .annotate(shown=Count("pk", filter=state) if state else Count("pk"),
                  excluded=Count("pk", filter=Q(excluded_at__isnull=False)))
    }
    single_cell = len(shown_findings) == 1 and len(shown_sources) == 1
    per_cell = PER_CELL_ALONE if single_cell else PER_CELL
    largest = max((n for n, _ in counts.values()), default=0)
    pages = max(1, -(-largest // per_cell))
    page = min(wanted.page, pages)
    first, last = (page - 1) * per_cell + 1, page * per_cell
    numbered = (
        cases.filter(state)
        .annotate(rank=Window(RowNumber(), partition_by=[F("finding_id"), F("source_id")], order_by=F("pk").asc()))
        .order_by()
        .only("pk", "public_id", "finding_id", "source_id", "excluded_at", "exclusion_reason")
    )
    by_cell: dict[tuple[int, int], list[Case]] = {}
    for case in numbered.filter(rank__gte=first, rank__lte=last).order_by("finding_id", "source_id", "pk"):
        by_cell.setdefault((case.finding_id, case.source_id), []).append(case)
    rows = []
    for finding in shown_findings:
        cells = []
        for source in shown_sources:
            n, excluded = counts.get((finding.pk, source.pk), (0, 0))
            cells.append(GalleryCell(finding, source, by_cell.get((finding.pk, source.pk), []), n, excluded))
        rows.append((finding, cells))
    filtered = GalleryFilter(wanted.finding, wanted.source, wanted.state, page)
    return GalleryPage(
        study=study, filter=filtered, findings=findings, sources=sources, shown_sources=shown_sources, rows=rows,
        per_cell=per_cell, pages=pages, total=sum(n for n, _ in counts.values()),
        excluded=sum(excluded for _, excluded in counts.values()),
    )


def case_for_staff(study: Study, public_id: str) -> Case:
    """The study's case with this public id (with its finding, source, batch and who excluded it), or 404."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        Case.objects.select_related("finding", "source", "batch", "excluded_by"), study=study, public_id=public_id)


def case_image_for_staff(study: Study, public_id: str) -> tuple[str, str]:
    """(stored file name, pixel hash) of the study's case with this public id, or 404: all a thumbnail needs."""
    found = Case.objects.filter(study=study, public_id=public_id).values_list("image", "pixel_sha256").first()
    if found is None:
        raise Http404("No such case.")
    return found


@dataclass(frozen=True)
class Provenance:
    """Where a case comes from, gathered from its own record and its batch's provenance.json."""

    origin_image: str
    original_filename: str
    original_sha256: str
    box: list | None  # as given in the manifest, in the pixels of the image file the batch carried
    uploaded_size: list | None  # that file's width and height
    box_224: list | None  # in the 224x224 image readers see
    batch: Batch | None
    checkpoint_sha256: str
    checkpoint_step: object
    checkpoint_seed: object
    generation_seed: object
    ssim: object
    psnr: object
    box_identical: object
    notes: str

    @property
    def box_percent(self) -> dict | None:
        """The 224 px box as fractions of the image (for drawing it over an image of any displayed size)."""
        if not self.box_224:
            return None
        x, y, w, h = (float(value) for value in self.box_224)
        return {"x": x, "y": y, "w": w, "h": h}


def _audit_record(audit: dict, filename: str) -> dict:
    for record in audit.get("images") or []:
        if isinstance(record, dict) and record.get("filename") == filename:
            return record
    return {}


def case_provenance(case: Case) -> Provenance:
    """The case's provenance: origin image and box from its import, checkpoint hash and seeds, SSIM and PSNR to its
    origin from the batch's audit (the generation's record for this file), and the batch."""
    own = case.provenance if isinstance(case.provenance, dict) else {}
    batch = case.batch
    audit = batch.audit if batch is not None and isinstance(batch.audit, dict) else {}
    filename = own.get("original_filename") or ""
    record = _audit_record(audit, filename) if filename else {}
    checkpoints = audit.get("checkpoints") if isinstance(audit.get("checkpoints"), dict) else {}
    checkpoint = checkpoints.get(case.source.slug) if not case.source.is_real else None
    checkpoint = checkpoint if isinstance(checkpoint, dict) else {}
    manifest = own.get("manifest") if isinstance(own.get("manifest"), dict) else {}
    return Provenance(
        origin_image=own.get("origin_image") or record.get("origin_image") or "",
        original_filename=filename,
        original_sha256=own.get("original_sha256") or "",
        box=own.get("bbox"),
        uploaded_size=own.get("original_size"),
        box_224=own.get("bbox_224"),
        batch=batch,
        checkpoint_sha256=checkpoint.get("sha256") or "",
        checkpoint_step=checkpoint.get("step"),
        checkpoint_seed=checkpoint.get("seed"),
        generation_seed=audit.get("seed"),
        ssim=record.get("ssim"),
        psnr=record.get("psnr"),
        box_identical=record.get("box_identical"),
        notes=manifest.get("notes") or "",
    )
