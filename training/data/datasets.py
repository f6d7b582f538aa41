"""Training samples in memory, and a seeded, resumable batch order.

Every image is read once, resized to the training size and kept as uint8 (820 NIH images at 256 px are 54 MB), so a
training step costs no disk work. The batch order depends only on (seed, step): a resumed run draws exactly the batches
the uninterrupted run would have drawn, and the per-sample augmentation generator is seeded by (seed, step, slot), the
slot counted in the global batch, so under torchrun every process augments its own samples differently and the
processes together draw what one process with the whole global batch would.
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from training.compose import u8_to_unit
from training.data.augment import AugmentSettings, augment_pair
from training.data.images import box_mask, check_box_in_frame, load_xray_with_frame, scale_box
from training.data.nih import BBOX_FILE, FINDINGS, HEALTHY, BoxAnnotation, DataError, image_path

log = logging.getLogger(__name__)


def domain_of(finding: str) -> int:
    """0 for healthy, 1..6 for the findings in FINDINGS order (StarGAN's domains)."""
    return 0 if finding == HEALTHY else FINDINGS.index(finding) + 1


@dataclass
class SampleSet:
    """Images (N, S, S) uint8, boxes (N, 4) in training-size pixels, domains (N,), and where each came from."""

    images: np.ndarray
    boxes: np.ndarray
    domains: np.ndarray
    annotations: list[BoxAnnotation]

    def __len__(self) -> int:
        return len(self.annotations)

    @staticmethod
    def concat(first: SampleSet, second: SampleSet) -> SampleSet:
        return SampleSet(
            np.concatenate([first.images, second.images]),
            np.concatenate([first.boxes, second.boxes]),
            np.concatenate([first.domains, second.domains]),
            first.annotations + second.annotations,
        )


def load_samples(data_dir: Path, annotations: list[BoxAnnotation], size: int, skip_bad: bool = False,
                 workers: int = 4) -> tuple[SampleSet, Counter]:
    """Read every annotation's image (once per image) at ``size`` px and scale its box from the file's own frame.

    A missing or corrupt image, or a box outside its image, raises :class:`DataError` naming the file (and the box
    list for boxes), unless ``skip_bad``: then the annotation is skipped and counted (returned and logged).
    """
    data_dir = Path(data_dir)
    names = list(dict.fromkeys(a.image for a in annotations))

    def read(name: str) -> tuple[str, np.ndarray | None, tuple[int, int] | None, str | None]:
        try:
            image, frame = load_xray_with_frame(image_path(data_dir, name), size)
            return name, image, frame, None
        except DataError as error:
            if not skip_bad:
                raise
            return name, None, None, str(error)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        loaded = {name: (image, frame, error) for name, image, frame, error in pool.map(read, names)}
    skipped: Counter = Counter()
    images, boxes, domains, kept = [], [], [], []
    for annotation in annotations:
        image, frame, error = loaded[annotation.image]
        if image is None:
            skipped["unreadable_images"] += 1
            log.warning("skipping %s: %s", annotation.image, error)
            continue
        try:
            check_box_in_frame(annotation.xywh, frame, f"{data_dir / BBOX_FILE} ({annotation.image})")
        except DataError:
            if not skip_bad:
                raise
            skipped["boxes_outside_image"] += 1
            continue
        images.append(image)
        boxes.append(scale_box(annotation.xywh, frame, size))
        domains.append(domain_of(annotation.finding))
        kept.append(annotation)
    if skipped:
        log.warning("%s: skipped %s (asked to skip bad input)", data_dir, dict(skipped))
    if not kept:
        raise DataError(f"{data_dir}: no usable sample among {len(annotations)} annotations")
    return (
        SampleSet(np.stack(images), np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
                  np.asarray(domains, dtype=np.int64), kept),
        skipped,
    )


def make_batch(samples: SampleSet, indices: np.ndarray, seed: int, step: int, augment: AugmentSettings | None,
               first_slot: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(y, m, domain): images in [-1, 1] (B, 1, S, S), box masks (B, 1, S, S), domains (B,).

    ``first_slot`` is the place of ``indices[0]`` in the global batch (rank * per-rank batch under torchrun).
    """
    size = samples.images.shape[1]
    images, masks = [], []
    for slot, index in enumerate(indices, start=first_slot):
        image, box = samples.images[index], tuple(samples.boxes[index])
        if augment is not None:
            image, box = augment_pair(image, box, np.random.default_rng([seed, step, slot, 5]), augment)
        images.append(image)
        masks.append(box_mask(size, box))
    y = u8_to_unit(np.stack(images))[:, None]
    m = torch.from_numpy(np.stack(masks))[:, None]
    return y, m, torch.from_numpy(samples.domains[indices])
