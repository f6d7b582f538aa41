"""The NIH ChestX-ray14 index: box annotations, per-image labels and patients, and the train/test split.

Reads the two metadata files exactly as NIH ships them:

* ``BBox_List_2017.csv``: header ``Image Index,Finding Label,Bbox [x,y,w,h],,,`` (the box header is unquoted, so a
  CSV reader sees the four coordinates as four columns, followed by empty trailing columns); the finding is spelled
  ``Infiltrate`` there.
* ``Data_Entry_2017.csv`` (2017 layout, trailing empty column) or ``Data_Entry_2017_v2020.csv`` (2020 layout), plain
  or gzip-compressed: ``Finding Labels`` pipe-separated, ``No Finding`` for healthy images.

The paper keeps six findings (Mass and Nodule are dropped: their boxes are too small for the method) and both views.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FINDINGS: tuple[str, ...] = ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia", "Pneumothorax")
"""The six findings the paper uses, in a fixed order (domain indices 1..6 of StarGAN follow it)."""

HEALTHY = "No Finding"
DROPPED_FINDINGS: tuple[str, ...] = ("Mass", "Nodule")
"""Box-list findings that exist in NIH but are not used by the paper."""

NIH_LABELS: frozenset[str] = frozenset(
    {
        *FINDINGS,
        *DROPPED_FINDINGS,
        "Consolidation",
        "Edema",
        "Emphysema",
        "Fibrosis",
        "Pleural_Thickening",
        "Hernia",
        HEALTHY,
    }
)
"""Every label that may appear in Data_Entry's ``Finding Labels`` column."""

LABEL_SPELLINGS = {"Infiltrate": "Infiltration"}
"""The box list spells some findings differently from Data_Entry."""

NIH_BOX_FRAME = 1024
"""NIH's boxes are given in the pixels of the 1024x1024 PNGs it distributes."""

BBOX_FILE = "BBox_List_2017.csv"
DATA_ENTRY_FILES = (
    "Data_Entry_2017.csv",
    "Data_Entry_2017.csv.gz",
    "Data_Entry_2017_v2020.csv",
    "Data_Entry_2017_v2020.csv.gz",
)
SPLIT_MODES = ("annotation", "patient")


class DataError(ValueError):
    """Bad input data; the message names the file and, where there is one, the row."""


@dataclass(frozen=True)
class BoxAnnotation:
    """One hand-drawn box, in the pixels of the image NIH distributes (1024 px)."""

    image: str
    finding: str
    x: float
    y: float
    w: float
    h: float

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


@dataclass(frozen=True)
class Split:
    train: list[BoxAnnotation]
    test: list[BoxAnnotation]

    def image_names(self) -> dict[str, list[str]]:
        """The ``split`` entry of a checkpoint: image names on each side, in order, without repeats."""
        return {
            "train": list(dict.fromkeys(b.image for b in self.train)),
            "test": list(dict.fromkeys(b.image for b in self.test)),
        }


def split_record(split: Split, seed: int, test_fraction: float, by: str) -> dict:
    """What identifies a split in every checkpoint: how it was drawn and a SHA-256 of its box list.

    The hash covers every box with its side (one line ``side,image,finding,x,y,w,h`` per box, sorted), so two runs
    hold the same hash exactly when they trained and tested on the same boxes, whatever produced the split.
    """
    lines = sorted(f"{side},{b.image},{b.finding},{b.x!r},{b.y!r},{b.w!r},{b.h!r}"
                   for side, boxes in (("train", split.train), ("test", split.test)) for b in boxes)
    return {"seed": seed, "test_fraction": test_fraction, "by": by, "train_boxes": len(split.train),
            "test_boxes": len(split.test), "boxes_sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest()}


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-empty row after the header; line numbers are 1-based, as an editor shows."""
    with _open_text(path) as handle:
        for number, cells in enumerate(csv.reader(handle), start=1):
            if number == 1 or not any(c.strip() for c in cells):
                continue
            yield number, cells


def _header(path: Path) -> list[str]:
    with _open_text(path) as handle:
        try:
            return next(csv.reader(handle))
        except StopIteration:
            raise DataError(f"{path}: the file is empty (no header row)") from None


def find_data_entry(data_dir: Path) -> Path:
    for name in DATA_ENTRY_FILES:
        if (data_dir / name).is_file():
            return data_dir / name
    raise DataError(f"{data_dir}: no Data_Entry file (looked for {', '.join(DATA_ENTRY_FILES)})")


def image_path(data_dir: Path, image_name: str) -> Path:
    """Where ``image_name`` lies: ``images/NAME``, or NIH's download layout ``images_001/images/NAME`` and on."""
    data_dir = Path(data_dir)
    direct = data_dir / "images" / image_name
    if direct.is_file():
        return direct
    for part in sorted(data_dir.glob("images_*")):
        candidate = part / "images" / image_name
        if candidate.is_file():
            return candidate
    raise DataError(f"{data_dir}: image file {image_name} not found under images/ or images_*/images/")


@dataclass
class NIHIndex:
    """The parsed metadata: the six findings' boxes, every image's labels and patient."""

    data_dir: Path
    boxes: list[BoxAnnotation]
    labels: dict[str, tuple[str, ...]]
    patients: dict[str, str]
    views: dict[str, str] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)

    @classmethod
    def load(cls, data_dir: Path, skip_bad: bool = False) -> NIHIndex:
        """Read both CSV files from ``data_dir``.

        Bad rows (unknown finding, malformed or out-of-frame box, image missing from Data_Entry) raise
        :class:`DataError` naming the file and row, unless ``skip_bad``: then they are counted in ``skipped`` and
        the count is logged. Mass and Nodule boxes are counted in ``dropped``.
        """
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DataError(f"{data_dir}: not a directory")
        skipped: Counter = Counter()
        labels, patients, views = _read_data_entry(find_data_entry(data_dir), skip_bad, skipped)
        boxes, dropped = _read_boxes(data_dir / BBOX_FILE, labels, skip_bad, skipped)
        if skipped:
            log.warning("NIH index %s: skipped %s", data_dir, dict(skipped))
        return cls(data_dir, boxes, labels, patients, views, skipped, dropped)

    def healthy_images(self) -> list[str]:
        """Images whose only label is ``No Finding``, in Data_Entry order."""
        return [name for name, found in self.labels.items() if found == (HEALTHY,)]

    def images(self) -> list[str]:
        """Images with at least one of the six findings' boxes, in box-list order."""
        return list(dict.fromkeys(b.image for b in self.boxes))

    def per_finding(self) -> dict[str, int]:
        counts = Counter(b.finding for b in self.boxes)
        return {f: counts.get(f, 0) for f in FINDINGS}

    def split(self, seed: int = 0, test_fraction: float = 0.3, by: str = "annotation") -> Split:
        """Seeded train/test split of the boxes.

        ``by="annotation"`` (the paper's): stratified by finding; within each finding the boxes are shuffled and the
        first ``ceil(test_fraction * n)`` go to test. On the real list this gives 573 train and 247 test annotations,
        the paper's counts. One patient (even one image) can land on both sides.

        ``by="patient"``: every box of a patient goes to the same side; patients are shuffled and taken into test
        while that keeps the test side at or under ``ceil(test_fraction * n_boxes)``. No patient leaks across sides.
        """
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
        if by not in SPLIT_MODES:
            raise ValueError(f"split by must be one of {SPLIT_MODES}, got {by!r}")
        rng = np.random.default_rng(seed)
        if by == "annotation":
            return self._split_by_annotation(rng, test_fraction)
        return self._split_by_patient(rng, test_fraction)

    def _split_by_annotation(self, rng: np.random.Generator, test_fraction: float) -> Split:
        test_ids: set[int] = set()
        for finding in FINDINGS:
            ids = [i for i, b in enumerate(self.boxes) if b.finding == finding]
            order = rng.permutation(len(ids))
            n_test = math.ceil(test_fraction * len(ids))
            test_ids.update(ids[j] for j in order[:n_test])
        return Split(
            train=[b for i, b in enumerate(self.boxes) if i not in test_ids],
            test=[b for i, b in enumerate(self.boxes) if i in test_ids],
        )

    def _split_by_patient(self, rng: np.random.Generator, test_fraction: float) -> Split:
        per_patient: dict[str, list[int]] = defaultdict(list)
        for i, box in enumerate(self.boxes):
            per_patient[self.patients[box.image]].append(i)
        patients = sorted(per_patient)
        target = math.ceil(test_fraction * len(self.boxes))
        test_ids: set[int] = set()
        for j in rng.permutation(len(patients)):
            ids = per_patient[patients[j]]
            if len(test_ids) + len(ids) <= target:
                test_ids.update(ids)
        return Split(
            train=[b for i, b in enumerate(self.boxes) if i not in test_ids],
            test=[b for i, b in enumerate(self.boxes) if i in test_ids],
        )

    def summary(self, seed: int = 0, test_fraction: float = 0.3, by: str = "annotation") -> dict:
        """The counts ``python -m training index`` prints."""
        split = self.split(seed=seed, test_fraction=test_fraction, by=by)
        return {
            "data_dir": str(self.data_dir),
            "boxes": len(self.boxes),
            "images": len(self.images()),
            "per_finding": self.per_finding(),
            "dropped_findings": dict(self.dropped),
            "split": {"by": by, "seed": seed, "test_fraction": test_fraction,
                      "train": len(split.train), "test": len(split.test),
                      "train_images": len(split.image_names()["train"]),
                      "test_images": len(split.image_names()["test"])},
            "healthy_pool": len(self.healthy_images()),
            "images_in_data_entry": len(self.labels),
            "patients": len(set(self.patients.values())),
            "views": dict(Counter(self.views.values())),
            "skipped": dict(self.skipped),
        }


def _column(header: list[str], name: str, path: Path) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise DataError(f"{path}: header has no column {name!r} (header: {header})") from None


def _read_data_entry(
    path: Path, skip_bad: bool, skipped: Counter
) -> tuple[dict[str, tuple[str, ...]], dict[str, str], dict[str, str]]:
    header = _header(path)
    image_col = _column(header, "Image Index", path)
    labels_col = _column(header, "Finding Labels", path)
    patient_col = _column(header, "Patient ID", path)
    view_col = _column(header, "View Position", path)
    needed = max(image_col, labels_col, patient_col, view_col)
    labels: dict[str, tuple[str, ...]] = {}
    patients: dict[str, str] = {}
    views: dict[str, str] = {}
    for number, cells in _rows(path):
        try:
            if len(cells) <= needed:
                raise DataError(f"{path} row {number}: expected at least {needed + 1} columns, got {len(cells)}")
            name = cells[image_col].strip()
            found = tuple(label.strip() for label in cells[labels_col].split("|") if label.strip())
            unknown = [label for label in found if label not in NIH_LABELS]
            if not name or not found:
                raise DataError(f"{path} row {number}: empty image name or finding labels")
            if unknown:
                raise DataError(f"{path} row {number}: unknown finding label(s) {unknown} for {name}")
        except DataError:
            if not skip_bad:
                raise
            skipped["data_entry_rows"] += 1
            continue
        labels[name] = found
        patients[name] = cells[patient_col].strip()
        views[name] = cells[view_col].strip()
    return labels, patients, views


def _read_boxes(
    path: Path, labels: dict[str, tuple[str, ...]], skip_bad: bool, skipped: Counter
) -> tuple[list[BoxAnnotation], Counter]:
    if not path.is_file():
        raise DataError(f"{path}: box list not found")
    header = _header(path)
    if header[:2] != ["Image Index", "Finding Label"] or len(header) < 6:
        raise DataError(f"{path}: unexpected header {header}; expected 'Image Index,Finding Label,Bbox [x,y,w,h],,,'")
    boxes: list[BoxAnnotation] = []
    dropped: Counter = Counter()
    for number, cells in _rows(path):
        try:
            box = _parse_box(path, number, cells, labels)
        except DataError:
            if not skip_bad:
                raise
            skipped["box_rows"] += 1
            continue
        if box.finding in DROPPED_FINDINGS:
            dropped[box.finding] += 1
            continue
        boxes.append(box)
    return boxes, dropped


def _parse_box(path: Path, number: int, cells: list[str], labels: dict[str, tuple[str, ...]]) -> BoxAnnotation:
    if len(cells) < 6:
        raise DataError(f"{path} row {number}: expected image, finding and 4 box numbers, got {cells}")
    name = cells[0].strip()
    finding = LABEL_SPELLINGS.get(cells[1].strip(), cells[1].strip())
    if finding not in FINDINGS and finding not in DROPPED_FINDINGS:
        raise DataError(f"{path} row {number}: unknown finding label {cells[1].strip()!r} for {name}")
    try:
        x, y, w, h = (float(c) for c in cells[2:6])
    except ValueError:
        raise DataError(f"{path} row {number}: box {cells[2:6]} of {name} is not four numbers") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise DataError(f"{path} row {number}: box {cells[2:6]} of {name} has no area")
    if x < 0 or y < 0 or x + w > NIH_BOX_FRAME or y + h > NIH_BOX_FRAME:
        raise DataError(
            f"{path} row {number}: box x={x} y={y} w={w} h={h} of {name} lies outside the "
            f"{NIH_BOX_FRAME}x{NIH_BOX_FRAME} image"
        )
    if name not in labels:
        raise DataError(f"{path} row {number}: image {name} is not listed in Data_Entry")
    return BoxAnnotation(name, finding, x, y, w, h)
