"""StarGAN's training set as its authors would build it: every image, labelled at image level.

StarGAN needs no boxes: Choi et al. train on every CelebA image with its attribute vector. Here the attributes are
NIH's image-level ``Finding Labels`` (Data_Entry) restricted to the seven domains (No Finding and the six findings), a
multi-label image carrying several ones (``Effusion|Infiltration`` -> both bits). Every image with at least one of the
seven is used, except the images of a seeded fraction of patients (``stargan_holdout``, 10 % by default): those are
StarGAN's test side, from which the verification set draws StarGAN's origins and the Real column, so no reader sees an
image StarGAN trained on. Labels outside the seven (Mass, Edema, ...) are simply not attributes, as CelebA's unused
attributes are not.

The older mode, ``stargan_data = "boxes"`` (box-only), trains on the box list's training split (one finding per box,
even on multi-label images) plus the healthy pool; it stays available and is named as such in the checkpoint's config.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from training.data.images import load_xray_with_frame
from training.data.nih import FINDINGS, HEALTHY, BoxAnnotation, DataError, NIHIndex, find_data_entry, image_path

STARGAN_DATA_MODES = ("images", "boxes")
"""``images``: every image-level labelled image (the authors' way, default); ``boxes``: the box-only mode."""
STARGAN_DATA_TITLES = {"images": "all image-level labelled images (Data_Entry)",
                       "boxes": "box-only (box-list training split + healthy pool)"}
ATTRIBUTES: tuple[str, ...] = (HEALTHY, *FINDINGS)
"""The attribute vector's order: bit 0 No Finding, bits 1..6 the findings (the domain indices of the box mode)."""
DEFAULT_HOLDOUT = 0.1


def attribute_vector(labels: Sequence[str]) -> np.ndarray:
    """(7,) float32 multi-hot of the image's labels among :data:`ATTRIBUTES`."""
    vector = np.zeros(len(ATTRIBUTES), dtype=np.float32)
    for label in labels:
        if label in ATTRIBUTES:
            vector[ATTRIBUTES.index(label)] = 1.0
    return vector


def held_out_patients(index: NIHIndex, seed: int, fraction: float) -> frozenset[str]:
    """A seeded ``fraction`` of the index's patients (rounded up), none of whose images StarGAN trains on."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"--stargan-holdout must lie in [0, 1), got {fraction}")
    patients = sorted(set(index.patients.values()))
    order = np.random.default_rng([seed, 4242]).permutation(len(patients))
    return frozenset(patients[k] for k in order[:math.ceil(fraction * len(patients))])


def stargan_training_images(index: NIHIndex, seed: int = 0, holdout: float = DEFAULT_HOLDOUT) -> list[str]:
    """The images StarGAN trains on (Data_Entry order): one of the seven labels, patient not held out.

    Refuses, naming the Data_Entry file and its ``Finding Labels`` column, an index with no image labelled with any of
    the seven (a box list alone cannot train StarGAN the authors' way; use ``--stargan-data boxes``).
    """
    held_out = held_out_patients(index, seed, holdout)
    images = [name for name, labels in index.labels.items()
              if any(label in ATTRIBUTES for label in labels) and index.patients.get(name) not in held_out]
    if not images:
        raise DataError(f"{find_data_entry(index.data_dir)}: column 'Finding Labels' gives no image of "
                        f"{', '.join(ATTRIBUTES)} outside the held-out patients; StarGAN's image-level training set "
                        "would be empty (or train box-only with --stargan-data boxes)")
    return images


def label_counts(index: NIHIndex, images: Sequence[str]) -> dict:
    """Per attribute the images carrying it, the multi-label images (two or more findings) and the total."""
    counts: Counter = Counter()
    multi = 0
    for name in images:
        found = [label for label in index.labels[name] if label in ATTRIBUTES]
        counts.update(found)
        multi += sum(1 for label in found if label != HEALTHY) > 1
    return {"images": len(images), "per_label": {label: counts.get(label, 0) for label in ATTRIBUTES},
            "multi_label_images": multi}


def summary(index: NIHIndex, seed: int = 0, holdout: float = DEFAULT_HOLDOUT) -> dict:
    """What ``python -m training index`` prints about StarGAN's training set."""
    images = stargan_training_images(index, seed, holdout)
    held_out = held_out_patients(index, seed, holdout)
    return {"mode": "images", "seed": seed, "holdout_fraction": holdout, "held_out_patients": len(held_out),
            **label_counts(index, images)}


def load_labelled_samples(index: NIHIndex, images: Sequence[str], size: int, skip_bad: bool = False,
                          workers: int = 4):
    """A :class:`SampleSet` of whole images: domains are (N, 7) attribute vectors, boxes the whole frame.

    A missing or corrupt image raises :class:`DataError` naming it, unless ``skip_bad`` (then counted and skipped).
    """
    from training.data.datasets import SampleSet

    data_dir = Path(index.data_dir)

    def read(name: str):
        try:
            return name, *load_xray_with_frame(image_path(data_dir, name), size), None
        except DataError as error:
            if not skip_bad:
                raise
            return name, None, None, str(error)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        loaded = list(pool.map(read, images))
    kept = [(name, image, frame) for name, image, frame, _ in loaded if image is not None]
    skipped = Counter({"unreadable_images": len(loaded) - len(kept)} if len(kept) < len(loaded) else {})
    if not kept:
        raise DataError(f"{data_dir}: no readable image among the {len(images)} of StarGAN's training set")
    return SampleSet(
        np.stack([image for _, image, _ in kept]),
        np.tile(np.array([0.0, 0.0, size, size]), (len(kept), 1)),
        np.stack([attribute_vector(index.labels[name]) for name, _, _ in kept]),
        [BoxAnnotation(name, "|".join(index.labels[name]), 0.0, 0.0, float(frame[0]), float(frame[1]))
         for name, _, frame in kept],
    ), skipped
