"""Choosing the source image of every cell of the verification set (pure: no images are read here).

A cell is one finding x one source. Each source image is used in one cell only, so a reader never sees a real image
and a generated copy of it, nor two generated versions of one box. Where the data cannot satisfy that,
:class:`GenerationError` names the cell and the counts; with ``allow_reuse`` an image may serve in a second cell (of a
different source, never twice within one source, which would repeat pixels) and is marked ``reused``.
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from .errors import GenerationError

REAL = "Real"
PIX2PIX = "Pix2Pix"
PIX2PIX_N = "Pix2Pix-N"
STARGAN = "StarGAN"
SOURCE_FOR_KIND = {"pix2pix": PIX2PIX, "pix2pix-n": PIX2PIX_N, "stargan": STARGAN}
SOURCES = (REAL, STARGAN, PIX2PIX, PIX2PIX_N)


class BoxLike(Protocol):
    image: str
    finding: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class PlannedImage:
    finding: str
    source: str
    origin_image: str
    box: tuple[float, float, float, float] | None  # the kept box in the original image's pixels (Pix2Pix kinds)
    split: str  # "test"/"train" of that generator for Pix2Pix kinds; "held-out"/"train" for Real and StarGAN inputs
    reused: bool = False


@dataclass(frozen=True)
class SelectionInputs:
    boxes: Sequence[BoxLike]
    labels: Mapping[str, tuple[str, ...]]
    healthy: Sequence[str]
    train_images: Mapping[str, frozenset[str]]  # generator kind -> images in its checkpoint's split["train"]


def plan_verification_set(inputs: SelectionInputs, findings: Sequence[str], per_cell: int, seed: int,
                          allow_reuse: bool = False) -> list[PlannedImage]:
    """The 6 x 4 x ``per_cell`` plan: Pix2Pix kinds take the test split first, Real takes untrained labelled images."""
    if per_cell < 1:
        raise GenerationError(f"--per-cell must be at least 1, got {per_cell}")
    missing = {"pix2pix", "pix2pix-n", "stargan"} - set(inputs.train_images)
    if missing:
        raise GenerationError(f"no training split for: {', '.join(sorted(missing))}")
    ledger = _Ledger(allow_reuse)
    trained_any = frozenset().union(*inputs.train_images.values())
    boxed_images = {box.image for box in inputs.boxes}
    plan: list[PlannedImage] = []
    for finding in findings:
        plan += _plan_finding(inputs, finding, per_cell, seed, ledger, trained_any, boxed_images)
    healthy = sorted(set(inputs.healthy))
    stargan_train = inputs.train_images["stargan"]
    for finding in findings:
        rng = random.Random(f"{seed}:{finding}:{STARGAN}")
        candidates = _shuffled([h for h in healthy if h not in trained_any], rng) + _shuffled(
            [h for h in healthy if h in trained_any], rng)
        picked = ledger.take(STARGAN, finding, candidates, per_cell, _identity, (
            f"need {per_cell} healthy ('No Finding') images for {STARGAN} / {finding}, found {{found}} unused "
            f"of {len(healthy)} healthy images"))
        plan += [PlannedImage(finding, STARGAN, image, None, "train" if image in stargan_train else "held-out", reused)
                 for image, reused in picked]
    return plan


def _plan_finding(inputs: SelectionInputs, finding: str, per_cell: int, seed: int, ledger: _Ledger,
                  trained_any: frozenset[str], boxed_images: set[str]) -> list[PlannedImage]:
    boxes = sorted((b for b in inputs.boxes if b.finding == finding), key=lambda b: (b.image, b.x, b.y, b.w, b.h))
    labelled = sorted(image for image, labels in inputs.labels.items() if finding in labels)
    rng = random.Random(f"{seed}:{finding}:{REAL}")
    untrained = [image for image in labelled if image not in trained_any]
    real_unboxed = _shuffled([image for image in untrained if image not in boxed_images], rng)
    real_boxed = _shuffled([image for image in untrained if image in boxed_images], rng)
    # Real images must be untrained; Pix2Pix merely prefers the test split. When unboxed real images run short, keep
    # back that many untrained box images for Real before the generators take theirs.
    shortfall = max(0, per_cell - sum(1 for image in real_unboxed if ledger.is_fresh(image)))
    reserved = set([image for image in real_boxed if ledger.is_fresh(image)][:shortfall])

    plan: list[PlannedImage] = []
    for kind in ("pix2pix", "pix2pix-n"):
        source = SOURCE_FOR_KIND[kind]
        train = inputs.train_images[kind]
        kind_rng = random.Random(f"{seed}:{finding}:{source}")
        test_boxes = _shuffled([b for b in boxes if b.image not in train and b.image not in reserved], kind_rng)
        train_boxes = _shuffled([b for b in boxes if b.image in train and b.image not in reserved], kind_rng)
        candidates = [(b, "test") for b in test_boxes] + [(b, "train") for b in train_boxes]
        test_count, train_count = len({b.image for b in test_boxes}), len({b.image for b in train_boxes})
        picked = ledger.take(source, finding, candidates, per_cell, _image_of_box_candidate, (
            f"need {per_cell} box-annotated images of {finding} for {source}, found {{found}} usable ({test_count} "
            f"images in its test split, {train_count} in its training split, {len(reserved)} kept back for Real)"))
        plan += [PlannedImage(finding, source, box.image, (box.x, box.y, box.w, box.h), split, reused)
                 for (box, split), reused in picked]

    candidates = real_unboxed + [image for image in real_boxed if image in reserved] + [
        image for image in real_boxed if image not in reserved]
    picked = ledger.take(REAL, finding, candidates, per_cell, _identity, (
        f"need {per_cell} real images labelled {finding} that no generator trained on, found {{found}} unused "
        f"({len(labelled)} labelled {finding} in Data_Entry, {len(labelled) - len(untrained)} of them in a "
        f"generator's training split)"))
    plan += [PlannedImage(finding, REAL, image, None, "held-out", reused) for image, reused in picked]
    return plan


class _Ledger:
    """Which image went to which cell; enforces one cell per image (or, with reuse, one cell per image per source)."""

    def __init__(self, allow_reuse: bool) -> None:
        self.allow_reuse = allow_reuse
        self.cell_of: dict[str, tuple[str, str]] = {}
        self.by_source: dict[str, set[str]] = {}

    def is_fresh(self, image: str) -> bool:
        return image not in self.cell_of

    def take(self, source: str, finding: str, candidates: Iterable, count: int, image_of,
             shortage_message: str) -> list[tuple]:
        """Up to ``count`` candidates with distinct images, fresh ones first; the message's {found} gets the count."""
        candidates = list(candidates)
        own = self.by_source.setdefault(source, set())
        chosen: list[tuple] = []
        chosen_images: set[str] = set()
        for candidate in candidates:
            image = image_of(candidate)
            if len(chosen) < count and image not in chosen_images and self.is_fresh(image):
                chosen.append((candidate, False))
                chosen_images.add(image)
        fresh = len(chosen)
        if len(chosen) < count and self.allow_reuse:
            for candidate in candidates:
                image = image_of(candidate)
                if len(chosen) < count and image not in chosen_images and image not in own:
                    chosen.append((candidate, True))
                    chosen_images.add(image)
        if len(chosen) < count:
            hint = "" if self.allow_reuse else " (a source image serves in one cell only; --allow-reuse relaxes that)"
            message = shortage_message.format(found=fresh)
            raise GenerationError(f"not enough images for {finding} / {source}: {message}{hint}")
        for candidate, _ in chosen:
            image = image_of(candidate)
            self.cell_of.setdefault(image, (finding, source))
            own.add(image)
        return chosen


def _identity(image: str) -> str:
    return image


def _image_of_box_candidate(candidate: tuple) -> str:
    return candidate[0].image


def _shuffled(items: list, rng: random.Random) -> list:
    items = list(items)
    rng.shuffle(items)
    return items
