"""The verification set's plan before any image is generated: who gets which origins, and the per-cell table.

``python -m generation plan`` needs only the two NIH CSV files: without checkpoints, each generator's training images
are those the trainer would use with its defaults (the by-annotation split of ``--split-seed``, and for Pix2Pix-N and
StarGAN the healthy pool of that seed); with ``--checkpoints`` they are read from the checkpoints. The per-cell table
(per source x finding: origins, seen / unseen by that source's generator, multi-label origins, view mix) is what the
command prints, what ``provenance.json`` carries under ``plan`` and what the staff batch page shows.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import GenerationError
from .pipeline import DEFAULT_CROP_MARGIN
from .selection import DEFAULT_AREA_TOLERANCE, SOURCES, PlannedImage, SelectionInputs, plan_with_notes

TABLE_COLUMNS = ("source", "finding", "origins", "seen", "unseen", "mean_box_area", "multi_label", "PA", "AP",
                 "patients")
"""``mean_box_area``: the mean share of the origin image the kept box covers, in % (Pix2Pix kinds; empty for sources
without a box); ``patients``: distinct patients among the cell's origins."""


@dataclass(frozen=True)
class PlanSettings:
    data_dir: Path
    per_cell: int = 25
    seed: int = 0
    pairing: str = "disjoint"
    allow_reuse: bool = False
    crop_margin: float = DEFAULT_CROP_MARGIN
    split_seed: int = 0
    test_fraction: float = 0.3
    split_by: str = "annotation"
    healthy_pool: int = 2000
    checkpoints: Mapping[str, Path] | None = None  # kind -> checkpoint; None: the trainer's default splits
    area_tolerance: float = DEFAULT_AREA_TOLERANCE
    stargan_data: str = "images"  # without checkpoints: StarGAN's training set as the trainer's default builds it
    stargan_holdout: float = 0.1


def cell_table(plan: Sequence[PlannedImage]) -> list[dict]:
    """One row per source x finding (sources in Table 1's order, findings in plan order)."""
    findings = list(dict.fromkeys(p.finding for p in plan))
    rows = []
    for source in SOURCES:
        for finding in findings:
            cell = [p for p in plan if p.source == source and p.finding == finding]
            if not cell:
                continue
            views = Counter(p.view for p in cell)
            seen = sum(1 for p in cell if p.seen)
            areas = [p.box_area for p in cell if p.box_area is not None]
            rows.append({"source": source, "finding": finding, "origins": len(cell), "seen": seen,
                         "unseen": len(cell) - seen,
                         "mean_box_area": round(100 * sum(areas) / len(areas), 2) if areas else None,
                         "multi_label": sum(1 for p in cell if p.multi_label),
                         "PA": views.get("PA", 0), "AP": views.get("AP", 0),
                         "patients": len({p.patient or p.origin_image for p in cell})})
    return rows


def patient_overlap(plan: Sequence[PlannedImage]) -> dict:
    """Distinct patients per source, and the patients whose images serve under more than one source."""
    sources_of: dict[str, set[str]] = {}
    for p in plan:
        sources_of.setdefault(p.patient or p.origin_image, set()).add(p.source)
    shared = {patient: sources for patient, sources in sources_of.items() if len(sources) > 1}
    per_source = {source: len({p.patient or p.origin_image for p in plan if p.source == source}) for source in SOURCES
                  if any(p.source == source for p in plan)}
    return {"patients_per_source": per_source, "patients_under_two_sources": len(shared),
            "real_and_generator": sum(1 for sources in shared.values() if "Real" in sources)}


def markdown_table(rows: Sequence[dict]) -> str:
    """The per-cell table as Markdown, a Total line per source (box area: the mean over the source's origins)."""
    header = "| Source | Finding | Origins | Seen | Unseen | Mean box area % | Multi-label | PA | AP | Patients |"
    lines = [header, "|---|---|" + "---:|" * 8]
    for source in dict.fromkeys(r["source"] for r in rows):
        group = [r for r in rows if r["source"] == source]
        for r in group:
            lines.append(f"| {source} | {r['finding']} | " + " | ".join(_cell(r[c]) for c in TABLE_COLUMNS[2:]) + " |")
        total = {c: sum(r[c] for r in group) for c in TABLE_COLUMNS[2:] if c not in ("mean_box_area", "patients")}
        areas = [(r["mean_box_area"], r["origins"]) for r in group if r["mean_box_area"] is not None]
        total["mean_box_area"] = (round(sum(a * n for a, n in areas) / sum(n for _, n in areas), 2) if areas
                                  else None)
        total["patients"] = None  # distinct over the source: see patient_overlap
        lines.append(f"| **{source}** | **all** | " + " | ".join(f"**{_cell(total[c])}**" for c in TABLE_COLUMNS[2:])
                     + " |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    return "–" if value is None else str(value)


def inputs_from_metadata(settings: PlanSettings) -> tuple[SelectionInputs, object]:
    """The selection inputs from the CSV files (and, if given, the checkpoints' splits); also the NIH index."""
    from training.data.healthy import healthy_pool
    from training.data.nih import DataError, NIHIndex
    from training.data.stargan_data import stargan_training_images

    try:
        index = NIHIndex.load(Path(settings.data_dir))
        if settings.checkpoints:
            train_images = _train_images_from_checkpoints(settings.checkpoints)
        else:
            split = index.split(seed=settings.split_seed, test_fraction=settings.test_fraction, by=settings.split_by)
            boxed_train = frozenset(split.image_names()["train"])
            pool = frozenset(b.image for b in healthy_pool(index, settings.healthy_pool, settings.split_seed))
            stargan = (frozenset(stargan_training_images(index, settings.split_seed, settings.stargan_holdout))
                       if settings.stargan_data == "images" else boxed_train | pool)
            train_images = {"pix2pix": boxed_train, "pix2pix-n": boxed_train | pool, "stargan": stargan}
    except (DataError, ValueError) as error:
        raise GenerationError(f"--data: {error}") from None
    inputs = SelectionInputs(boxes=index.boxes, labels=index.labels, healthy=index.healthy_images(),
                             train_images=train_images, views=index.views, crop_margin=settings.crop_margin,
                             patients=index.patients)
    return inputs, index


def _train_images_from_checkpoints(checkpoints: Mapping[str, Path]) -> dict[str, frozenset[str]]:
    from training.checkpoints import CheckpointError, read_checkpoint_meta

    train_images = {}
    for kind in ("pix2pix", "pix2pix-n", "stargan"):
        if kind not in checkpoints:
            raise GenerationError(f"--checkpoints: missing {kind}")
        try:
            payload = read_checkpoint_meta(Path(checkpoints[kind]), expected_kind=kind)  # split and pool only
        except CheckpointError as error:
            raise GenerationError(f"checkpoint for {kind} is not usable: {error}") from None
        if payload.get("train_images") is not None:  # StarGAN's image-level training set
            train_images[kind] = frozenset(payload["train_images"])
            continue
        pool = payload.get("healthy_pool") or []
        train_images[kind] = frozenset(payload["split"].get("train", [])) | frozenset(
            entry["image"] if isinstance(entry, dict) else str(entry) for entry in pool)
    return train_images


def make_plan(settings: PlanSettings) -> tuple[list[PlannedImage], list[dict]]:
    """The plan and its per-cell table; raises :class:`GenerationError` naming, per finding, every constraint the
    data cannot meet and by how much."""
    plan, rows, _ = make_plan_with_notes(settings)
    return plan, rows


def make_plan_with_notes(settings: PlanSettings) -> tuple[list[PlannedImage], list[dict], list[dict]]:
    """:func:`make_plan` plus the notes (soft constraints met only in part)."""
    from training.data.nih import FINDINGS

    inputs, _ = inputs_from_metadata(settings)
    plan, notes = plan_with_notes(inputs, FINDINGS, settings.per_cell, settings.seed, settings.allow_reuse,
                                  settings.pairing, settings.area_tolerance)
    return plan, cell_table(plan), notes
