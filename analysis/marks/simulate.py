"""Simulated readers who mark images with a known box avoidance (or a known pull toward what StarGAN changed), to
show the analysis recovers it.

Each reader reads every case. On a box-kept fake (Pix2Pix-like) a reader places 0..``max_marks`` marks; each lands in
the kept box with probability ``true_ratio x (the box's share of the image) x exp(reader effect + case effect)``
(lognormal effects of mean 1, so the population's ratio of sums is ``true_ratio``) and otherwise uniformly on the rest
of the image. All-generated fakes (StarGAN-like) and real images get uniform marks. A true ratio below 1 is a reader
population that avoids the box: the pathology looked real to them.

``simulate_change_marks`` does the same for StarGAN-like fakes with known origins: each fake is an origin (a smooth
random image) plus a smooth random change, so its change map and most-changed pixels (``changes``) come from the
images as in a study; a mark lands on the most-changed pixels with probability ``true_ratio x (their share of the
image) x exp(reader effect + case effect)``, otherwise uniformly on the rest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from .changes import most_changed
from .regions import IMAGE_SIZE, CaseTruth, PixelKind, change_map
from .statistics import MarkData


@dataclass(frozen=True)
class MarkingConfig:
    readers: int = 5
    box_kept_fakes: int = 40
    all_generated_fakes: int = 20
    real_images: int = 40
    true_ratio: float = 0.4
    box_share: tuple[float, float] = (0.06, 0.2)  # the kept box's share of the image, drawn per case
    max_marks: int = 3
    mark_probability: float = 0.5  # per possible mark on a fake
    real_mark_probability: float = 0.15  # per possible mark on a real image
    reader_sd: float = 0.3  # of the reader effect on the log ratio
    case_sd: float = 0.3  # of the case effect on the log ratio


def _box(rng: np.random.Generator, share: float) -> tuple[float, float, float, float]:
    side = float(np.sqrt(share) * IMAGE_SIZE)
    x, y = rng.uniform(0, IMAGE_SIZE - side, size=2)
    return (float(x), float(y), side, side)


def _outside(rng: np.random.Generator, box) -> tuple[float, float]:
    x0, y0, w, h = box
    while True:
        x, y = rng.uniform(0, IMAGE_SIZE, size=2)
        if not (x0 <= x < x0 + w and y0 <= y < y0 + h):
            return float(x), float(y)


def simulate_marks(config: MarkingConfig, seed: int) -> MarkData:
    """One simulated study's reads and marks (cases: box-kept fakes, then all-generated fakes, then real images)."""
    rng = np.random.default_rng(seed)
    cases = [CaseTruth(PixelKind.BOX_KEPT, _box(rng, rng.uniform(*config.box_share)))
             for _ in range(config.box_kept_fakes)]
    cases += [CaseTruth(PixelKind.ALL_GENERATED, None) for _ in range(config.all_generated_fakes)]
    cases += [CaseTruth(PixelKind.REAL, None) for _ in range(config.real_images)]
    reader_effect = rng.normal(-config.reader_sd**2 / 2, config.reader_sd, config.readers)
    case_effect = rng.normal(-config.case_sd**2 / 2, config.case_sd, len(cases))
    read_reader, read_case, mark_read, xs, ys, ratings = [], [], [], [], [], []
    for reader in range(config.readers):
        for k, case in enumerate(cases):
            read = len(read_reader)
            read_reader.append(reader)
            read_case.append(k)
            probability = config.mark_probability if case.is_fake else config.real_mark_probability
            for _ in range(rng.binomial(config.max_marks, probability)):
                if case.kind == PixelKind.BOX_KEPT:
                    p_in = min(1.0, config.true_ratio * case.box_fraction
                               * np.exp(reader_effect[reader] + case_effect[k]))
                    if rng.random() < p_in:
                        x0, y0, w, h = case.box
                        x, y = float(rng.uniform(x0, x0 + w)), float(rng.uniform(y0, y0 + h))
                    else:
                        x, y = _outside(rng, case.box)
                else:
                    x, y = (float(v) for v in rng.uniform(0, IMAGE_SIZE, size=2))
                mark_read.append(read)
                xs.append(x)
                ys.append(y)
                ratings.append(int(rng.integers(2, 6)) if case.is_fake else int(rng.integers(1, 5)))
    return MarkData.build(n_readers=config.readers, cases=cases, read_reader=read_reader, read_case=read_case,
                          mark_read=mark_read, mark_x=xs, mark_y=ys, mark_rating=ratings)


def box_kept_cases(data: MarkData) -> np.ndarray:
    return np.array([case.kind == PixelKind.BOX_KEPT for case in data.cases], dtype=bool)


@dataclass(frozen=True)
class ChangeMarkingConfig:
    readers: int = 5
    fakes: int = 30  # StarGAN-like, each with its origin
    true_ratio: float = 2.0
    max_marks: int = 3
    mark_probability: float = 0.5
    reader_sd: float = 0.3
    case_sd: float = 0.3
    change_sigma_px: float = 10.0  # how smooth the change is: blobs of about this size


def _smooth_field(rng: np.random.Generator, sigma: float, step: int = 4) -> np.ndarray:
    """A standardised smooth random field over the frame, drawn on a grid ``step`` times coarser (cheap) and
    enlarged by repetition."""
    coarse = gaussian_filter(rng.normal(size=(IMAGE_SIZE // step,) * 2), sigma=sigma / step, mode="reflect")
    field = np.repeat(np.repeat(coarse, step, axis=0), step, axis=1)
    return (field - field.mean()) / field.std()


def _fake_and_origin(rng: np.random.Generator, config: ChangeMarkingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Two 8-bit gray images: a smooth origin, and the fake: the origin with a smooth change added."""
    origin = np.clip(128 + 30 * _smooth_field(rng, 20.0), 0, 255)
    change = 40 * _smooth_field(rng, config.change_sigma_px)
    fake = np.clip(origin + change, 0, 255)
    return np.rint(fake).astype(np.uint8), np.rint(origin).astype(np.uint8)


def _point_on(rng: np.random.Generator, mask: np.ndarray) -> tuple[float, float]:
    pixel = int(rng.choice(np.flatnonzero(mask)))
    row, column = divmod(pixel, IMAGE_SIZE)
    return float(column + rng.random()), float(row + rng.random())


@dataclass(frozen=True)
class SimulatedChanges:
    """A simulated study of StarGAN-like fakes: the reads and marks, each fake and its origin (224x224 uint8), and
    each fake's most-changed mask (from their change map)."""

    data: MarkData
    fakes: list[np.ndarray]
    origins: list[np.ndarray]
    masks: list[np.ndarray]


def simulate_change_marks(config: ChangeMarkingConfig, seed: int) -> SimulatedChanges:
    """One simulated study of StarGAN-like fakes with known origins (module docstring)."""
    rng = np.random.default_rng(seed)
    pairs = [_fake_and_origin(rng, config) for _ in range(config.fakes)]
    masks = [most_changed(change_map(fake, origin)) for fake, origin in pairs]
    cases = [CaseTruth(PixelKind.ALL_GENERATED, None) for _ in masks]
    reader_effect = rng.normal(-config.reader_sd**2 / 2, config.reader_sd, config.readers)
    case_effect = rng.normal(-config.case_sd**2 / 2, config.case_sd, len(cases))
    read_reader, read_case, mark_read, xs, ys = [], [], [], [], []
    for reader in range(config.readers):
        for k, mask in enumerate(masks):
            read = len(read_reader)
            read_reader.append(reader)
            read_case.append(k)
            for _ in range(rng.binomial(config.max_marks, config.mark_probability)):
                p_on = min(1.0, config.true_ratio * float(mask.mean())
                           * np.exp(reader_effect[reader] + case_effect[k]))
                x, y = _point_on(rng, mask if rng.random() < p_on else ~mask)
                mark_read.append(read)
                xs.append(x)
                ys.append(y)
    data = MarkData.build(n_readers=config.readers, cases=cases, read_reader=read_reader, read_case=read_case,
                          mark_read=mark_read, mark_x=xs, mark_y=ys)
    return SimulatedChanges(data=data, fakes=[fake for fake, _ in pairs], origins=[origin for _, origin in pairs],
                            masks=masks)
