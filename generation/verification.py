"""Building the verification set: plan the cells, run the generators, audit, finalise, write the batch zip.

Every image, real or generated, is read at the generators' working size with the same antialiased resize, goes
through its source's generator (Real: none), and then through the one final pipeline (:mod:`generation.pipeline`).
"""
from __future__ import annotations

import hashlib
import platform
import subprocess
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from batchformat.manifest import origin_seen_cell
from batchformat.origins import ORIGINS_FOLDER

from . import FORMAT_VERSION, INFERENCE_MODES
from .archive import BatchZipWriter
from .audit import check_box_identity, summarise_quality, surroundings_quality
from .errors import GenerationError
from .generators import LoadedGenerator, load_generators, resolve_device
from .pipeline import (
    DEFAULT_CROP_MARGIN,
    FINAL_SIZE,
    STUDY_SIZE,
    box_in_final_image,
    crop_pixels,
    final_png,
    finalise,
    resampling_reach,
    to_study_size,
)
from .plan import cell_table, patient_overlap
from .selection import (
    DEFAULT_AREA_TOLERANCE,
    PAIRINGS,
    PIX2PIX,
    PIX2PIX_N,
    REAL,
    SOURCES,
    STARGAN,
    PlannedImage,
    SelectionInputs,
    plan_with_notes,
)

KIND_OF_SOURCE = {PIX2PIX: "pix2pix", PIX2PIX_N: "pix2pix-n", STARGAN: "stargan"}
SOURCE_SLUG = {REAL: "real", STARGAN: "stargan", PIX2PIX: "pix2pix", PIX2PIX_N: "pix2pix-n"}

Progress = Callable[[int, int], None]
INFERENCE_WHY = {
    "deterministic": "eval mode (dropout off, running batch-norm statistics): the same checkpoint and origin give the "
                     "same image, so the set is reproducible and every generator is judged on its single best guess",
    "stochastic": "dropout and per-image batch statistics on, as pix2pix's test script runs (its only noise source); "
                  "seeded by --seed",
}


@dataclass(frozen=True)
class VerificationSetConfig:
    data_dir: Path
    checkpoints: Mapping[str, Path]
    out: Path
    per_cell: int = 25
    seed: int = 0
    allow_reuse: bool = False
    force: bool = False
    crop_margin: float = DEFAULT_CROP_MARGIN
    device: str = "cpu"
    batch_size: int = 8
    load_workers: int = 1  # threads reading images ahead of the generators
    pairing: str = "disjoint"  # disjoint or matched origins for Pix2Pix and Pix2Pix-N (generation.selection)
    area_tolerance: float = DEFAULT_AREA_TOLERANCE  # a Pix2Pix pair's box areas within this fraction
    inference: str = "deterministic"  # deterministic (eval mode) or stochastic (dropout and batch statistics on)


@dataclass
class VerificationSetResult:
    out: Path
    images: int
    provenance: dict = field(repr=False)


@dataclass(frozen=True)
class _Item:
    plan: PlannedImage
    filename: str


@dataclass
class _Loaded:
    item: _Item
    image: np.ndarray  # uint8 at the working size
    box: tuple[float, float, float, float] | None  # in working-size pixels


def build_verification_set(config: VerificationSetConfig, progress: Progress | None = None) -> VerificationSetResult:
    """Build the whole set into ``config.out`` (atomically) and return its provenance record."""
    from training.data.images import load_xray_with_frame, scale_box
    from training.data.nih import FINDINGS, DataError, NIHIndex, image_path

    started = datetime.now(UTC)
    out = Path(config.out)
    if out.exists() and not config.force:
        raise GenerationError(f"{out} exists; pass --force to replace it")
    if out.is_dir():
        raise GenerationError(f"{out} is a directory; give a .zip file path")
    try:
        crop_pixels(config.crop_margin)
    except ValueError as error:
        raise GenerationError(f"--crop-margin: {error}") from None
    if config.pairing not in PAIRINGS:
        raise GenerationError(f"--pairing: unknown pairing {config.pairing!r}; choose one of {', '.join(PAIRINGS)}")
    if config.inference not in INFERENCE_MODES:
        raise GenerationError(f"--inference: unknown mode {config.inference!r}; choose one of "
                              f"{', '.join(INFERENCE_MODES)}")
    device = resolve_device(config.device)
    generators = load_generators(config.checkpoints, device)
    for generator in generators.values():
        generator.model.train(config.inference == "stochastic")
    size = next(iter(generators.values())).meta["image_size"]
    try:
        index = NIHIndex.load(Path(config.data_dir))
    except DataError as error:
        raise GenerationError(f"--data: {error}") from None
    inputs = SelectionInputs(boxes=index.boxes, labels=index.labels, healthy=index.healthy_images(),
                             train_images={kind: g.train_images for kind, g in generators.items()},
                             views=index.views, frames=_box_frames(index), crop_margin=config.crop_margin,
                             patients=index.patients)
    plan, notes = plan_with_notes(inputs, FINDINGS, config.per_cell, config.seed, config.allow_reuse, config.pairing,
                                  config.area_tolerance)
    items = _name_items(plan)
    torch.manual_seed(config.seed)

    def load(item: _Item) -> _Loaded:
        try:
            image, frame = load_xray_with_frame(image_path(index.data_dir, item.plan.origin_image), size)
        except DataError as error:
            raise GenerationError(f"--data: {error}") from None
        box = None if item.plan.box is None else scale_box(item.plan.box, frame, size)
        return _Loaded(item, image, box)

    def finish(loaded: list[_Loaded], outputs: list[np.ndarray]) -> list[tuple[dict, str, bytes, dict, bytes | None]]:
        """Audit and final pipeline of one batch (in a worker thread: zlib and Pillow release the GIL)."""
        return [(_audit(entry, generated, size, config.crop_margin), entry.item.filename,
                 final_png(generated, config.crop_margin), _manifest_row(entry, config.crop_margin, size),
                 _origin_png(entry, config.crop_margin))
                for entry, generated in zip(loaded, outputs, strict=True)]

    records: list[dict] = []
    workers = max(1, config.load_workers)
    with BatchZipWriter(out) as writer, ThreadPoolExecutor(max_workers=workers) as loader, \
            ThreadPoolExecutor(max_workers=1) as finisher:
        # Stochastic inference runs one image per forward pass, as pix2pix's test script: batch statistics of one image.
        batches = _batches(items, 1 if config.inference == "stochastic" else config.batch_size)
        loading = [loader.submit(lambda b=b: [load(i) for i in b]) for b in batches[:2]]
        finishing = []

        def write(done) -> None:
            for record, filename, png, row, origin in done.result():
                writer.add_image(filename, png, row)
                if origin is not None:
                    writer.add_origin(filename, origin)
                records.append(record)
            if progress:
                progress(len(records), len(items))

        for number in range(len(batches)):
            loaded = loading.pop(0).result()
            if number + 2 < len(batches):
                loading.append(loader.submit(lambda b=batches[number + 2]: [load(i) for i in b]))
            finishing.append(finisher.submit(finish, loaded, _generate(generators, loaded, device)))
            while len(finishing) > 1:
                write(finishing.pop(0))
        while finishing:
            write(finishing.pop(0))
        provenance = _provenance(config, generators, index, records, size, started, device, plan, notes)
        writer.commit(provenance)
    return VerificationSetResult(out=out, images=len(records), provenance=provenance)


def _box_frames(index) -> dict[str, tuple[int, int]]:
    """Each box image's own (width, height), read from the file header (the frame its box is given in)."""
    from PIL import Image

    from training.data.nih import DataError, image_path

    frames = {}
    for image in {box.image for box in index.boxes}:
        try:
            with Image.open(image_path(index.data_dir, image)) as opened:
                frames[image] = opened.size
        except (DataError, OSError):
            continue  # a missing image fails with its own message when it is loaded
    return frames


def _name_items(plan: list[PlannedImage]) -> list[_Item]:
    counters: dict[tuple[str, str], int] = {}
    items = []
    order = {source: i for i, source in enumerate(SOURCES)}
    for entry in sorted(plan, key=lambda p: (order[p.source], p.finding)):
        key = (entry.finding, entry.source)
        counters[key] = counters.get(key, 0) + 1
        items.append(_Item(entry, f"{entry.finding.lower()}_{SOURCE_SLUG[entry.source]}_{counters[key]:03d}.png"))
    return items


def _batches(items: list[_Item], batch_size: int) -> list[list[_Item]]:
    """Consecutive runs of one source, at most ``batch_size`` long (one generator per forward pass)."""
    batches: list[list[_Item]] = []
    for item in items:
        if batches and batches[-1][0].plan.source == item.plan.source and len(batches[-1]) < batch_size:
            batches[-1].append(item)
        else:
            batches.append([item])
    return batches


def _generate(generators: Mapping[str, LoadedGenerator], loaded: list[_Loaded], device: str) -> list[np.ndarray]:
    from training.inference import pix2pix_generate_batch, stargan_translate_batch

    source = loaded[0].item.plan.source
    images = [entry.image for entry in loaded]
    if source == REAL:
        return images
    generator = generators[KIND_OF_SOURCE[source]]
    if source == STARGAN:
        made = stargan_translate_batch(generator.model, images, [entry.item.plan.finding for entry in loaded], device)
    else:
        made = pix2pix_generate_batch(generator.model, images, [entry.box for entry in loaded], device)
    if generator.guard is not None:  # the outputs are on the host now: the guard's flags are too
        generator.guard.raise_if_tripped()
    return made


def _audit(entry: _Loaded, generated: np.ndarray, size: int, crop_margin: float) -> dict:
    from training.data.images import box_mask

    plan = entry.item.plan
    record = {"filename": entry.item.filename, "source": plan.source, "finding": plan.finding,
              "origin_image": plan.origin_image, "split": plan.split, "origin_seen": plan.seen,
              "reused": plan.reused,
              "box_identical": None, "max_abs_diff_in_box": None, "ssim": None, "psnr": None}
    if plan.source in (PIX2PIX, PIX2PIX_N):
        mask = box_mask(size, entry.box)
        check = check_box_identity(entry.image, generated, mask)
        if not check.identical:
            raise GenerationError(f"{plan.source} changed the pathology box of {plan.origin_image} "
                                  f"(max abs diff {check.max_abs_diff}); nothing was written")
        quality = surroundings_quality(entry.image, generated, 1 - mask)
        final = _final_box_check(entry.image, generated, entry.box, size, crop_margin)
        if not final["box_identical_224"]:
            raise GenerationError(f"{plan.source}: the pathology box of {plan.origin_image} differs from the real "
                                  f"image in the final 224 px image (max abs diff {final['max_abs_diff_in_box_224']});"
                                  " nothing was written")
        record.update(box_identical=True, max_abs_diff_in_box=check.max_abs_diff, ssim=quality.ssim,
                      psnr=quality.psnr, box_working=[round(v, 2) for v in entry.box], **final)
    elif plan.source == STARGAN:
        quality = surroundings_quality(entry.image, generated)
        record.update(ssim=quality.ssim, psnr=quality.psnr)
    return record


def _final_box_check(real: np.ndarray, generated: np.ndarray, box: tuple[float, float, float, float], size: int,
                     crop_margin: float) -> dict:
    """The box where the reader looks: both images through the final pipeline, compared inside the 224 px box.

    Pixels within the resampling filters' reach of the box edge blend in the surroundings (which differ by design), so
    the comparison covers the box shrunk by that reach; at the paper's 256 px and default margin the reach is 0 and
    every pixel of the box is compared.
    """
    x, y, w, h = box_in_final_image(box, size, crop_margin)
    reach = resampling_reach(size, crop_margin)
    x0, y0 = int(np.ceil(x)) + reach, int(np.ceil(y)) + reach
    x1, y1 = int(np.floor(x + w)) - reach, int(np.floor(y + h)) - reach
    kept = _kept_fraction(box, size, crop_margin)
    if x1 <= x0 or y1 <= y0:
        return {"box_224": [x, y, w, h], "box_kept_fraction_224": kept, "box_identical_224": True,
                "max_abs_diff_in_box_224": None, "box_pixels_checked_224": 0}
    a = finalise(to_study_size(real), crop_margin)[y0:y1, x0:x1].astype(np.int16)
    b = finalise(to_study_size(generated), crop_margin)[y0:y1, x0:x1].astype(np.int16)
    diff = int(np.abs(a - b).max())
    return {"box_224": [x, y, w, h], "box_kept_fraction_224": kept, "box_identical_224": diff == 0,
            "max_abs_diff_in_box_224": diff, "box_pixels_checked_224": int((x1 - x0) * (y1 - y0))}


def _kept_fraction(box: tuple[float, float, float, float], size: int, crop_margin: float) -> float:
    cut = crop_pixels(crop_margin) * size / STUDY_SIZE
    x, y, w, h = box
    inside_w = max(0.0, min(x + w, size - cut) - max(x, cut))
    inside_h = max(0.0, min(y + h, size - cut) - max(y, cut))
    return round(inside_w * inside_h / (w * h), 4)


def _origin_png(entry: _Loaded, crop_margin: float) -> bytes | None:
    """A StarGAN image's origin (the whole image is the generator's translation of it) through the very pipeline the
    generated image took, so the two compare pixel by pixel; None for other sources (a real image is its own origin,
    a Pix2Pix image keeps its origin's box and the rest is drawn from that box alone)."""
    if entry.item.plan.source != STARGAN:
        return None
    return final_png(entry.image, crop_margin)


def _manifest_row(entry: _Loaded, crop_margin: float, size: int) -> dict:
    plan = entry.item.plan
    row = {"finding": plan.finding, "source": plan.source, "origin_image": plan.origin_image,
           "origin_seen": origin_seen_cell(plan.seen),
           "notes": f"split={plan.split}" + ("; reused in another cell" if plan.reused else "")}
    if entry.box is not None:
        x, y, w, h = box_in_final_image(entry.box, size, crop_margin)
        row.update(bbox_x=x, bbox_y=y, bbox_w=w, bbox_h=h)
    return row


def _provenance(config: VerificationSetConfig, generators: Mapping[str, LoadedGenerator], index, records: list[dict],
                size: int, started: datetime, device: str, plan: list[PlannedImage], notes: list[dict]) -> dict:
    checked = [r for r in records if r["box_identical"] is not None]
    checked_224 = [r for r in checked if r.get("box_identical_224") is not None]
    return {
        "format_version": FORMAT_VERSION,
        "kind": "verification-set",
        "created_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "seed": config.seed,
        "per_cell": config.per_cell,
        "allow_reuse": config.allow_reuse,
        "reused_images": sum(1 for r in records if r["reused"]),
        "device": device,
        "inference": {"mode": config.inference, "why": INFERENCE_WHY[config.inference]},
        "plan": {"pairing": config.pairing, "per_cell": config.per_cell, "area_tolerance": config.area_tolerance,
                 "cells": cell_table(plan), "patients": patient_overlap(plan), "notes": notes},
        "pipeline": {"working_size": size, "study_size": STUDY_SIZE, "crop_margin": config.crop_margin,
                     "crop_pixels_at_256": crop_pixels(config.crop_margin), "final_size": FINAL_SIZE,
                     "resample": "lanczos", "png": "8-bit gray, IHDR/IDAT/IEND only"},
        "data": {"dir": str(Path(config.data_dir).resolve()), "boxes": len(index.boxes),
                 "images_in_data_entry": len(index.labels), "healthy_images": len(index.healthy_images())},
        "checkpoints": {kind: _checkpoint_record(g) for kind, g in generators.items()},
        "audit": {"working_size": size, "box_checked": len(checked),
                  "box_identical": sum(1 for r in checked if r["box_identical"]),
                  "max_abs_diff_in_box": max((r["max_abs_diff_in_box"] for r in checked), default=None),
                  "final_size": FINAL_SIZE, "box_checked_224": len(checked_224),
                  "box_identical_224": sum(1 for r in checked_224 if r["box_identical_224"]),
                  "max_abs_diff_in_box_224": max((r["max_abs_diff_in_box_224"] for r in checked_224
                                                  if r["max_abs_diff_in_box_224"] is not None), default=None),
                  "min_box_kept_fraction_224": min((r["box_kept_fraction_224"] for r in checked_224), default=None)},
        "quality": summarise_quality(records),
        "origins": {"folder": f"{ORIGINS_FOLDER}/", "sources": [STARGAN],
                    "images": sum(1 for r in records if r["source"] == STARGAN),
                    "why": "each StarGAN image's origin through the same final pipeline: how much each pixel changed"},
        "versions": _versions(),
        "config": {key: str(value) if isinstance(value, Path) else value
                   for key, value in asdict(config).items() if key != "checkpoints"},
        "images": records,
    }


def _checkpoint_record(generator: LoadedGenerator) -> dict:
    split = generator.meta["split"]
    names = "\n".join(sorted(split.get("train", []))) + "\n--\n" + "\n".join(sorted(split.get("test", [])))
    return {"file": generator.path.name, "path": str(generator.path.resolve()), "sha256": generator.meta["sha256"],
            "step": generator.meta["step"], "seed": generator.meta["seed"],
            "image_size": generator.meta["image_size"],
            "split": {"train_images": len(split.get("train", [])), "test_images": len(split.get("test", [])),
                      "sha256": hashlib.sha256(names.encode()).hexdigest()},
            "training_data": generator.meta.get("training_data"),
            "train_images": len(generator.train_images), "config": generator.meta["config"]}


def _versions() -> dict:
    versions = {"python": platform.python_version()}
    for package in ("torch", "torchvision", "numpy", "pillow", "scikit-image"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, text=True,
                                capture_output=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    versions["code_commit"] = commit or None
    return versions
