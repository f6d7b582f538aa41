"""Detection data: real NIH images of one split side, and synthetic images with their known boxes from a batch.

Everything is decoded once, at the experiment's image size (256), and held in memory as uint8: 573 + 688 images of
256x256 are about 80 MB. Boxes are checked against the frame of the file they belong to, then scaled with the image.

A synthetic set is a batch in the import format (a ``.zip`` or a folder holding ``manifest.csv`` and the images):
columns ``filename``, ``finding``, ``source`` and the box ``bbox_x``, ``bbox_y``, ``bbox_w``, ``bbox_h`` in the
image's own pixels (Pix2Pix keeps the real box, so the label comes for free). Rows are picked by ``source``
(case-insensitive).
"""
from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from batchformat.manifest import BOX_COLUMNS, missing_columns
from batchformat.manifest import MANIFEST_NAME as MANIFEST
from training.data.images import check_box_in_frame, load_xray_with_frame, scale_box
from training.data.nih import BoxAnnotation, DataError, image_path
from training.localisation.detector import label_of_finding
from training.localisation.metric import LabelledBox


@dataclass(frozen=True)
class DetectionImage:
    """One image at the experiment's size with its boxes (corners in that size's pixels)."""

    name: str
    pixels: np.ndarray  # uint8 size x size
    boxes: tuple[LabelledBox, ...] = ()
    origin: str = "real"  # "real" or the synthetic source's name
    origin_image: str = ""  # for a synthetic image: the NIH image it stems from, when the manifest says


def _to_box(finding: str, box_xywh: tuple[float, float, float, float]) -> LabelledBox:
    return LabelledBox.from_xywh(finding, *box_xywh)


def real_images(data_dir: Path, annotations: Sequence[BoxAnnotation], size: int, findings: Sequence[str],
                progress: bool = True, limit: int | None = None) -> list[DetectionImage]:
    """The images of ``annotations`` (one entry per image, all its boxes of this split side), in first-seen order."""
    per_image: dict[str, list[BoxAnnotation]] = {}
    for annotation in annotations:
        label_of_finding(findings, annotation.finding)  # a finding the detector was not built for: error now
        per_image.setdefault(annotation.image, []).append(annotation)
    names = list(per_image)[:limit] if limit is not None else list(per_image)
    images = []
    for name in tqdm(names, desc="real images", unit="img", disable=not progress, leave=False):
        path = image_path(data_dir, name)
        pixels, frame = load_xray_with_frame(path, size)
        boxes = []
        for annotation in per_image[name]:
            check_box_in_frame(annotation.xywh, frame, f"{path} ({annotation.finding} box)")
            boxes.append(_to_box(annotation.finding, scale_box(annotation.xywh, frame, size)))
        images.append(DetectionImage(name, pixels, tuple(boxes)))
    return images


@dataclass(frozen=True)
class ManifestRow:
    line: int
    filename: str
    finding: str
    source: str
    box: tuple[float, float, float, float]
    origin_image: str = ""


class _BatchFiles:
    """Read access to a batch that is either a zip or a folder."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.is_dir():
            self.zip = None
        elif zipfile.is_zipfile(self.path):
            self.zip = zipfile.ZipFile(self.path)
        elif not self.path.exists():
            raise DataError(f"synthetic set {self.path}: no such file or folder")
        else:
            raise DataError(f"synthetic set {self.path}: neither a folder nor a zip archive")

    def read(self, name: str) -> bytes:
        try:
            if self.zip is None:
                return (self.path / name).read_bytes()
            return self.zip.read(name)
        except (KeyError, FileNotFoundError, IsADirectoryError):
            raise DataError(f"synthetic set {self.path}: {name} is named in the manifest but absent") from None

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def synthetic_provenance(path: Path) -> dict:
    """The synthetic set's ``provenance.json`` as a dict (empty when it has none)."""
    import json

    files = _BatchFiles(path)
    try:
        try:
            return json.loads(files.read("provenance.json"))
        except DataError:
            return {}
        except ValueError as error:
            raise DataError(f"synthetic set {path}: provenance.json is not valid JSON ({error})") from None
    finally:
        files.close()


def read_manifest(files: _BatchFiles, findings: Sequence[str]) -> list[ManifestRow]:
    where = f"synthetic set {files.path}"
    text = files.read(MANIFEST).decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or ()}
    missing = missing_columns(columns)
    if missing:
        raise DataError(f"{where}: {MANIFEST} lacks column(s) {', '.join(missing)}")
    if not set(BOX_COLUMNS) <= columns:
        raise DataError(
            f"{where}: {MANIFEST} has no boxes (columns {', '.join(BOX_COLUMNS)}); the localisation experiment needs "
            "each synthetic image's box"
        )
    canonical = {f.lower(): f for f in findings}
    rows = []
    for line, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        here = f"{where}, {MANIFEST} line {line} ({row['filename']})"
        finding = canonical.get(row["finding"].lower())
        if finding is None:
            raise DataError(
                f"{here}: finding {row['finding']!r} is not one the detector was built for ({', '.join(findings)})"
            )
        if not all(row[c] for c in BOX_COLUMNS):
            raise DataError(f"{here}: no box (bbox_x, bbox_y, bbox_w, bbox_h are required for every image)")
        try:
            box = tuple(float(row[c]) for c in BOX_COLUMNS)
        except ValueError:
            raise DataError(f"{here}: box {[row[c] for c in BOX_COLUMNS]} is not four numbers") from None
        if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            raise DataError(f"{here}: box {box} has no area")
        rows.append(ManifestRow(line, row["filename"], finding, row["source"], box, row.get("origin_image", "")))
    return rows


def synthetic_images(path: Path, source: str, count: int, seed: int, size: int, findings: Sequence[str],
                     progress: bool = True) -> list[DetectionImage]:
    """``count`` images of ``source`` from the batch at ``path``, a seeded sample when it holds more."""
    files = _BatchFiles(path)
    try:
        rows = read_manifest(files, findings)
        chosen = [r for r in rows if r.source.lower() == source.lower()]
        if not chosen:
            present = sorted({r.source for r in rows})
            raise DataError(f"synthetic set {path}: no image of source {source!r} (sources present: {present})")
        if len(chosen) < count:
            raise DataError(
                f"synthetic set {path}: only {len(chosen)} {source} images, the protocol adds {count} "
                "(lower --synthetic-count or supply more)"
            )
        chosen.sort(key=lambda r: r.filename)
        order = np.random.default_rng(seed).permutation(len(chosen))[:count]
        chosen = [chosen[i] for i in sorted(order)]
        with tempfile.TemporaryDirectory(prefix="localisation-") as scratch:
            return [
                _decode(files, row, Path(scratch), size)
                for row in tqdm(chosen, desc=f"{source} images", unit="img", disable=not progress, leave=False)
            ]
    finally:
        files.close()


def _decode(files: _BatchFiles, row: ManifestRow, scratch: Path, size: int) -> DetectionImage:
    where = f"synthetic set {files.path}, {MANIFEST} line {row.line} ({row.filename})"
    member = scratch / f"image{Path(row.filename).suffix.lower() or '.png'}"
    member.write_bytes(files.read(row.filename))
    try:
        pixels, frame = load_xray_with_frame(member, size)
    except DataError as error:
        raise DataError(f"{where}: {str(error).split(': ', 1)[-1]}") from None
    check_box_in_frame(row.box, frame, where)
    box = _to_box(row.finding, scale_box(row.box, frame, size))
    return DetectionImage(f"{row.source}:{row.filename}", pixels, (box,), row.source, row.origin_image)


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """uint8 HxW gray -> float 3xHxW in [0, 1] (the gray channel repeated for the ImageNet-shaped backbone)."""
    return torch.from_numpy(pixels).float().div_(255.0).unsqueeze(0).expand(3, -1, -1)


def to_target(image: DetectionImage, findings: Sequence[str]) -> dict[str, torch.Tensor]:
    boxes = torch.tensor([[b.x1, b.y1, b.x2, b.y2] for b in image.boxes], dtype=torch.float32).reshape(-1, 4)
    labels = torch.tensor([label_of_finding(findings, b.finding) for b in image.boxes], dtype=torch.int64)
    return {"boxes": boxes, "labels": labels}


def count_boxes(images: Iterable[DetectionImage]) -> int:
    return sum(len(i.boxes) for i in images)
