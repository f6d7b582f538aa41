"""Validate a whole batch zip before anything becomes visible: a pure module (no Django).

Members are streamed one at a time: each image is read, hashed, normalised and its PNG written to a private staging
folder, so memory does not grow with the batch. The caller moves the staged PNGs into storage only when this returns
without an error.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from batchformat.origins import MAX_ORIGIN_BYTES, origin_image_problem, origin_size_problem, origin_target
from batchformat.png import PNG_SIGNATURE
from readerstudy.text import control_character_in, lone_surrogate_in

from .archive import PROVENANCE_NAME, ArchiveLimits, ArchiveRejected, open_archive, read_member
from .manifest import MANIFEST_NAME, MAX_ERRORS, ManifestRow, RowError, parse_manifest
from .normalise import ImageRejected, box_after_normalisation, encode_png, image_size, normalise_image, open_checked


@dataclass(frozen=True)
class ImportSettings:
    limits: ArchiveLimits
    max_image_pixels: int
    crop_margin: float
    max_batch_pixels: int = 0  # decoded pixels over the whole batch; 0: no limit (a worker imports)


@dataclass(frozen=True)
class StagedImage:
    """One validated image: its manifest row, its normalised PNG on disk, and the provenance kept for admins."""

    row: ManifestRow
    staged_path: Path
    pixel_sha256: str
    original_sha256: str
    original_size: tuple[int, int]
    box_224: tuple[float, float, float, float] | None
    origin_path: Path | None = None  # the staged origin (origins/<filename>), for the analysis only

    def provenance(self) -> dict:
        return {
            "original_filename": self.row.filename,
            "original_sha256": self.original_sha256,
            "original_size": list(self.original_size),
            "manifest_row": self.row.row,
            "manifest": dict(self.row.raw),
            "origin_image": self.row.origin_image,
            "origin_seen": self.row.origin_seen,
            "bbox": list(self.row.box) if self.row.box else None,
            "bbox_224": list(self.box_224) if self.box_224 else None,
        }


@dataclass
class ValidatedBatch:
    images: list[StagedImage]
    audit: dict


def _not_a_number(name: str):
    raise ValueError(f"{name} is not a JSON number (NaN and Infinity cannot be stored)")


def _read_provenance(listing, errors: list[RowError]) -> dict:
    if listing.provenance is None:
        return {}
    try:
        audit = json.loads(read_member(listing.zip, listing.provenance).decode("utf-8-sig"),
                           parse_constant=_not_a_number)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        errors.append(RowError(f"is not valid UTF-8 JSON ({error})", PROVENANCE_NAME))
        return {}
    if not isinstance(audit, dict):
        errors.append(RowError("must hold a JSON object", PROVENANCE_NAME))
        return {}
    if lone_surrogate_in(audit):
        errors.append(RowError("contains a lone surrogate (an invalid character), which is not allowed",
                               PROVENANCE_NAME))
        return {}
    character = control_character_in(audit)
    if character:
        errors.append(RowError(f"contains a control character ({character}), which is not allowed", PROVENANCE_NAME))
        return {}
    return audit


def _check_generated_crop_margin(audit: dict, config: ImportSettings, errors: list[RowError]) -> None:
    """A generated set's boxes were audited at the crop margin it was made with; a study that crops another margin
    would show readers a different frame than the audit checked, so the set must be regenerated for it."""
    pipeline = audit.get("pipeline") if isinstance(audit.get("pipeline"), dict) else {}
    generated = pipeline.get("crop_margin")
    if not isinstance(generated, int | float) or config.crop_margin == 0:  # 0: the study leaves the margin to the set
        return
    if abs(float(generated) - config.crop_margin) > 1e-9:
        errors.append(RowError(
            f"the set was generated (and its boxes audited) with crop margin {generated:g}, but this study crops "
            f"{config.crop_margin:g}: regenerate it with --crop-margin {config.crop_margin:g} (the study's job does "
            f"that) or set the study's crop margin to {generated:g}", PROVENANCE_NAME))


def _cross_check(rows: list[ManifestRow], named: set[str], members: dict, errors: list[RowError]) -> list[ManifestRow]:
    """Rows whose file is present; an error for each absent file and each file no row names."""
    present = []
    for row in rows:
        if row.filename in members:
            present.append(row)
        else:
            errors.append(RowError("is named in the manifest but is not in the zip", row.filename, row.row))
    errors.extend(RowError("is in the zip but not in the manifest", name) for name in members if name not in named)
    return present


def _split_origins(members: dict, named: set[str]) -> dict[str, tuple[str, zipfile.ZipInfo]]:
    """Take the ``origins/`` members out of ``members``: {the file name each belongs to: (member name, info)}. A
    member the manifest names itself stays an image, so an older batch that keeps images in such a folder reads as
    it always did."""
    origins = {}
    for name in [name for name in members if name not in named]:
        target = origin_target(name)
        if target is not None:
            origins[target] = (name, members.pop(name))
    return origins


def _check_origin(listing, info: zipfile.ZipInfo, config: ImportSettings) -> bytes:
    """The origin's PNG re-encoded bare, after the image checks (declared size, header before decoding, bounded
    decode) and the origins rule (PNG, 8-bit gray, 224x224); ImageRejected saying why."""
    if info.file_size > MAX_ORIGIN_BYTES:
        raise ImageRejected(f"is {info.file_size} bytes, over the limit of {MAX_ORIGIN_BYTES} for an origin")
    data = read_member(listing.zip, info)
    if not data.startswith(PNG_SIGNATURE):
        raise ImageRejected("an origin must be a PNG file")
    problem = origin_size_problem(image_size(data) or (0, 0))
    if problem:  # the dimensions, from the header: nothing larger is ever decoded
        raise ImageRejected(problem)
    image = open_checked(data, max_pixels=config.max_image_pixels)
    problem = origin_image_problem(image_format=image.format, mode=image.mode, size=image.size)
    if problem:
        raise ImageRejected(problem)
    return encode_png(image)


def _stage_origins(listing, origins: dict[str, tuple[str, zipfile.ZipInfo]], rows: list[ManifestRow], named: set[str],
                   real_sources: Container[str], config: ImportSettings, staging_dir: Path,
                   errors: list[RowError]) -> dict[str, Path]:
    """Check each origin against its row and the rule (``batchformat.origins``) and stage it; an error names the
    member. {file name: staged origin}."""
    row_of = {row.filename: row for row in rows}
    staged: dict[str, Path] = {}
    for target, (member, info) in sorted(origins.items()):
        if len(errors) >= MAX_ERRORS:
            break
        row = row_of.get(target)
        if row is None:
            if target not in named:  # a named row with its own error needs no second message
                errors.append(RowError(f"is an origin for {target}, which the manifest does not name", member))
            continue
        if row.source in real_sources:
            errors.append(RowError(f"is an origin for {target}, a real image: origins are for generated images "
                                   "only", member, row.row))
            continue
        try:
            png = _check_origin(listing, info, config)
        except ValueError as error:  # ImageRejected is a ValueError too
            errors.append(RowError(str(error), member, row.row))
            continue
        if errors:
            continue
        path = staging_dir / f"origin-{len(staged):06d}.png"
        path.write_bytes(png)
        staged[target] = path
    return staged


def _check_image(row: ManifestRow, data: bytes, config: ImportSettings):
    normalised = normalise_image(data, crop_margin=config.crop_margin, max_pixels=config.max_image_pixels)
    width, height = normalised.original_width, normalised.original_height
    box_224 = None
    if row.box is not None:
        x, y, w, h = row.box
        if x + w > width or y + h > height:
            raise ImageRejected(f"the box ({x}, {y}, {w}, {h}) lies outside the {width}x{height} image")
        box_224 = box_after_normalisation(row.box, width=width, height=height, crop_margin=config.crop_margin)
    return normalised, box_224


def validate_batch(fileobj: IO[bytes], *, size: int, config: ImportSettings, findings: dict[str, str],
                   sources: dict[str, str], real_sources: Container[str], existing_pixel_hashes: Container[str],
                   staging_dir: Path, on_progress: Callable[[int, int], None] | None = None) -> ValidatedBatch:
    """Check everything and stage every normalised PNG (and every origin), or raise ArchiveRejected with every
    problem found. ``real_sources``: the keys ``sources`` maps real images to (they may carry no origin)."""
    listing = open_archive(fileobj, size=size, limits=config.limits)
    with listing.zip:
        errors: list[RowError] = []
        try:
            manifest_bytes = read_member(listing.zip, listing.manifest)
        except ValueError as error:
            raise ArchiveRejected([RowError(str(error), MANIFEST_NAME)]) from None
        parsed = parse_manifest(manifest_bytes, findings=findings, sources=sources,
                                max_rows=config.limits.max_members)
        errors.extend(parsed.errors)
        audit = _read_provenance(listing, errors)
        _check_generated_crop_margin(audit, config, errors)
        origins = _split_origins(listing.members, parsed.named_files)
        if parsed.named_files or not parsed.errors:  # an unreadable manifest names nothing: skip the noise
            rows = _cross_check(parsed.rows, parsed.named_files, listing.members, errors)
        else:
            rows = []
        staged_origins = _stage_origins(listing, origins, rows, parsed.named_files, real_sources, config,
                                        staging_dir, errors)
        images: list[StagedImage] = []
        first_row_with: dict[str, ManifestRow] = {}
        decoded_pixels = 0
        for done, row in enumerate(rows, start=1):
            if len(errors) >= MAX_ERRORS:
                break
            try:
                data = read_member(listing.zip, listing.members[row.filename])
                width, height = image_size(data) or (0, 0)
                decoded_pixels += width * height
                if config.max_batch_pixels and decoded_pixels > config.max_batch_pixels:
                    errors.append(RowError(
                        f"the batch's images hold more than {config.max_batch_pixels:,} pixels in all, the limit "
                        "without a worker (imports run inside the web request): split the batch, or set "
                        "CELERY_BROKER_URL and run a worker", row.filename, row.row))
                    break
                normalised, box_224 = _check_image(row, data, config)
            except ValueError as error:  # ImageRejected is a ValueError too
                errors.append(RowError(str(error), row.filename, row.row))
                continue
            finally:
                if on_progress is not None:
                    on_progress(done, len(rows))
            earlier = first_row_with.get(normalised.sha256)
            if earlier is not None:
                errors.append(RowError(f"has the same pixels as {earlier.filename} (row {earlier.row})",
                                       row.filename, row.row))
                continue
            first_row_with[normalised.sha256] = row
            if normalised.sha256 in existing_pixel_hashes:
                errors.append(RowError("has the same pixels as an image already in this study", row.filename, row.row))
                continue
            if errors:
                continue  # keep checking, but stage nothing more once the batch is bound to fail
            staged_path = staging_dir / f"{len(images):06d}.png"
            staged_path.write_bytes(normalised.png)
            images.append(StagedImage(row=row, staged_path=staged_path, pixel_sha256=normalised.sha256,
                                      original_sha256=hashlib.sha256(data).hexdigest(),
                                      original_size=(normalised.original_width, normalised.original_height),
                                      box_224=box_224, origin_path=staged_origins.get(row.filename)))
        if errors:
            raise ArchiveRejected(errors[:MAX_ERRORS])
        return ValidatedBatch(images=images, audit=audit)
