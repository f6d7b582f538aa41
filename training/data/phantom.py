"""Phantom chest radiographs in NIH's exact on-disk layout, for tests and the CPU demo.

The 42 GB NIH image set cannot be downloaded here, so every loader is exercised on procedurally drawn images: a body
outline, two lung fields crossed by ribs, spine, heart and diaphragm shadows, smooth tissue texture and noise, with a
finding-like opacity drawn strictly inside each box. Everything is vectorised numpy and seeded.

Layout written (as NIH ships it): ``images/00000001_000.png`` ..., ``Data_Entry_2017.csv`` (2017 header, trailing empty
column), ``BBox_List_2017.csv`` (header ``Image Index,Finding Label,Bbox [x,y,w,h],,,``, ``Infiltrate`` spelling).
Boxes are in the pixels of the written PNGs (1024 as NIH's, or 256 with ``size=256``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.data.nih import FINDINGS, HEALTHY

DATA_ENTRY_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
    "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],"
)
BBOX_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"
BOX_LIST_SPELLING = {"Infiltration": "Infiltrate"}


@dataclass(frozen=True)
class PhantomImage:
    name: str
    patient: int
    follow_up: int
    boxes: tuple[tuple[str, float, float, float, float], ...]  # (finding, x, y, w, h) in pixels of the PNG


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(coords, coords, indexing="xy")  # u: x in [0,1], v: y in [0,1]


def _ellipse(u: np.ndarray, v: np.ndarray, cx: float, cy: float, ax: float, ay: float, edge: float) -> np.ndarray:
    """Soft-edged filled ellipse in [0, 1]."""
    r = np.sqrt(((u - cx) / ax) ** 2 + ((v - cy) / ay) ** 2)
    return np.clip((1.0 - r) / edge, 0.0, 1.0)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency texture: bilinear upsampling of a coarse random grid, in [-1, 1]."""
    coarse = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1)).astype(np.float32)
    pos = np.linspace(0, cells, size, dtype=np.float32)
    i0 = np.minimum(pos.astype(int), cells - 1)
    t = pos - i0
    rows = coarse[i0] * (1 - t)[:, None] + coarse[i0 + 1] * t[:, None]
    return rows[:, i0] * (1 - t)[None, :] + rows[:, i0 + 1] * t[None, :]


def draw_chest(rng: np.random.Generator, size: int) -> np.ndarray:
    """One healthy phantom radiograph as float32 in [0, 255]."""
    u, v = _grid(size)
    j = lambda scale: float(rng.uniform(-scale, scale))  # noqa: E731 - a tiny jitter helper
    image = np.full((size, size), 12.0, dtype=np.float32)
    body = _ellipse(u, v, 0.5 + j(0.02), 0.56 + j(0.02), 0.45 + j(0.02), 0.55 + j(0.02), 0.08)
    image += 105.0 * body
    lungs = np.maximum(
        _ellipse(u, v, 0.31 + j(0.02), 0.44 + j(0.02), 0.14 + j(0.015), 0.27 + j(0.02), 0.25),
        _ellipse(u, v, 0.69 + j(0.02), 0.44 + j(0.02), 0.14 + j(0.015), 0.27 + j(0.02), 0.25),
    )
    image -= 70.0 * lungs
    bend = 0.09 * ((u - 0.5) * 2.0) ** 2
    rib_phase = (v + bend) * (9.0 + j(0.6)) + j(0.5)
    ribs = np.clip((np.cos(2 * np.pi * rib_phase) - 0.55) / 0.45, 0.0, 1.0)
    image += 38.0 * ribs * np.clip(lungs * 1.6, 0.0, 1.0)
    spine = np.clip(1.0 - np.abs(u - 0.5) / (0.045 + j(0.005)), 0.0, 1.0) * body
    image += 45.0 * spine
    heart = _ellipse(u, v, 0.55 + j(0.02), 0.62 + j(0.02), 0.17 + j(0.02), 0.14 + j(0.015), 0.3)
    image += 75.0 * heart * np.maximum(lungs, 0.6)
    dome = 0.74 + j(0.02) + 0.06 * np.cos(2 * np.pi * (u - 0.5) * 1.6) ** 2
    diaphragm = np.clip((v - dome) / 0.03, 0.0, 1.0) * body
    image += 60.0 * diaphragm * np.maximum(lungs, 0.5)
    image += 10.0 * _smooth_noise(rng, size, 12) * body
    image += rng.normal(0.0, 4.0, size=(size, size)).astype(np.float32)
    return image


def draw_finding(rng: np.random.Generator, image: np.ndarray, finding: str, box: tuple[int, int, int, int]) -> None:
    """Draw a finding-like opacity strictly inside the integer box (x0, y0, x1, y1) of ``image``, in place."""
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    if h <= 0 or w <= 0:
        return
    yy, xx = np.meshgrid(
        (np.arange(h, dtype=np.float32) + 0.5) / h, (np.arange(w, dtype=np.float32) + 0.5) / w, indexing="ij"
    )
    centre = np.exp(-(((xx - 0.5) / 0.28) ** 2 + ((yy - 0.5) / 0.28) ** 2))
    texture = _smooth_noise(rng, max(h, w), 5)[:h, :w]
    if finding == "Atelectasis":
        patch = 55.0 * np.exp(-(((yy - 0.5 - 0.2 * (xx - 0.5)) / 0.12) ** 2)) * (0.8 + 0.2 * texture)
    elif finding == "Cardiomegaly":
        patch = 60.0 * np.clip((1.0 - np.sqrt(((xx - 0.5) / 0.48) ** 2 + ((yy - 0.55) / 0.45) ** 2)) / 0.2, 0, 1)
    elif finding == "Effusion":
        meniscus = 0.45 + 0.15 * (xx - 0.5) ** 2
        patch = 70.0 * np.clip((yy - meniscus) / 0.12, 0.0, 1.0)
    elif finding == "Infiltration":
        patch = 45.0 * np.clip(texture + 0.2, 0.0, 1.0) * centre
    elif finding == "Pneumonia":
        patch = 80.0 * centre * (0.85 + 0.15 * texture)
    elif finding == "Pneumothorax":
        patch = -35.0 * np.clip((xx - 0.35) / 0.05, 0.0, 1.0)
    else:
        raise ValueError(f"unknown finding {finding!r}")
    image[y0:y1, x0:x1] += patch


def _plan(rng: np.random.Generator, disease: int, healthy: int, size: int) -> list[PhantomImage]:
    """Who gets which images and boxes: patients with 1-3 follow-ups, about 1 in 8 disease images with two boxes."""
    kinds = ["disease"] * disease + ["healthy"] * healthy
    order = rng.permutation(len(kinds))
    findings = [FINDINGS[i % len(FINDINGS)] for i in rng.permutation(max(disease, 1))]
    plans: list[PhantomImage] = []
    patient, follow_up, left = 0, 0, 0
    disease_seen = 0
    for k in order:
        if left == 0:
            patient, follow_up, left = patient + 1, 0, int(rng.integers(1, 4))
        name = f"{patient:08d}_{follow_up:03d}.png"
        boxes: tuple = ()
        if kinds[k] == "disease":
            first = findings[disease_seen % len(findings)]
            chosen = [first]
            if rng.random() < 0.125:
                chosen.append(FINDINGS[(FINDINGS.index(first) + int(rng.integers(1, len(FINDINGS)))) % len(FINDINGS)])
            boxes = tuple((f, *_random_box(rng, size, f)) for f in chosen)
            disease_seen += 1
        plans.append(PhantomImage(name, patient, follow_up, boxes))
        follow_up, left = follow_up + 1, left - 1
    return plans


def _labelled_images(images_dir: Path, count: int, size: int, seed: int, first_patient: int) -> list[str]:
    """Draw ``count`` images with image-level findings only (no box line); their Data_Entry lines."""
    rng = np.random.default_rng([seed, 77])
    lines = []
    for k in range(count):
        first = FINDINGS[k % len(FINDINGS)]
        chosen = [first]
        if rng.random() < 0.25:
            chosen.append(FINDINGS[(k + int(rng.integers(1, len(FINDINGS)))) % len(FINDINGS)])
        image = draw_chest(rng, size)
        for finding in chosen:
            x, y, w, h = _random_box(rng, size, finding)
            draw_finding(rng, image, finding, (int(np.floor(x)), int(np.floor(y)), int(np.ceil(x + w)),
                                               int(np.ceil(y + h))))
        name = f"{first_patient + k:08d}_000.png"
        Image.fromarray(np.clip(np.rint(image), 0, 255).astype(np.uint8)).save(images_dir / name)
        view = "PA" if rng.random() < 0.6 else "AP"
        sex = "M" if rng.random() < 0.55 else "F"
        lines.append(f"{name},{'|'.join(sorted(chosen))},0,{first_patient + k},{int(rng.integers(18, 90))},{sex},"
                     f"{view},{size},{size},0.143,0.143,")
    return lines


def _random_box(rng: np.random.Generator, size: int, finding: str) -> tuple[float, float, float, float]:
    """A box inside the lung/heart region, sized like NIH's (about 8-30 % of the side), never leaving the image."""
    if finding == "Cardiomegaly":
        w, h = rng.uniform(0.28, 0.4) * size, rng.uniform(0.2, 0.3) * size
        cx, cy = rng.uniform(0.5, 0.58) * size, rng.uniform(0.58, 0.66) * size
    else:
        w, h = rng.uniform(0.08, 0.25) * size, rng.uniform(0.08, 0.3) * size
        cx = (rng.choice([0.31, 0.69]) + rng.uniform(-0.06, 0.06)) * size
        cy = rng.uniform(0.3, 0.6) * size
    x = float(np.clip(cx - w / 2, 1.0, size - w - 1.0))
    y = float(np.clip(cy - h / 2, 1.0, size - h - 1.0))
    return (round(x, 6), round(y, 6), round(float(w), 6), round(float(h), 6))


def make_phantom(out_dir: Path, disease: int, healthy: int, size: int = 1024, seed: int = 0,
                 labelled: int = 0) -> dict:
    """Write ``disease`` box-annotated and ``healthy`` No Finding phantom images plus both CSV files to ``out_dir``.

    ``labelled`` more images carry findings (drawn in place, a quarter of them two) listed in Data_Entry's ``Finding
    Labels`` but no box in the box list, as most of NIH's labelled images: the image-level index StarGAN trains on.
    They come after the others, from their own random stream, so ``labelled=0`` writes what older versions wrote.
    Returns a summary dict (counts and paths). Same seed, same bytes.
    """
    if disease < 0 or healthy < 0 or disease + healthy == 0:
        raise ValueError("make_phantom needs a positive number of images (disease + healthy > 0)")
    if size < 32:
        raise ValueError(f"phantom size must be at least 32 px, got {size}")
    out_dir = Path(out_dir)
    images_dir = out_dir / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    plans = _plan(rng, disease, healthy, size)
    if labelled < 0:
        raise ValueError(f"--labelled must be 0 or more, got {labelled}")
    entry_lines = [DATA_ENTRY_HEADER]
    box_lines = [BBOX_HEADER]
    for plan in plans:
        image = draw_chest(rng, size)
        for finding, x, y, w, h in plan.boxes:
            bounds = (int(np.floor(x)), int(np.floor(y)), int(np.ceil(x + w)), int(np.ceil(y + h)))
            draw_finding(rng, image, finding, bounds)
            box_lines.append(f"{plan.name},{BOX_LIST_SPELLING.get(finding, finding)},{x},{y},{w},{h},,,")
        Image.fromarray(np.clip(np.rint(image), 0, 255).astype(np.uint8)).save(images_dir / plan.name)
        labels = "|".join(sorted({b[0] for b in plan.boxes})) or HEALTHY
        age = int(rng.integers(18, 90))
        sex = "M" if rng.random() < 0.55 else "F"
        view = "PA" if rng.random() < 0.6 else "AP"
        entry_lines.append(
            f"{plan.name},{labels},{plan.follow_up},{plan.patient},{age},{sex},{view},{size},{size},0.143,0.143,"
        )
    entry_lines += _labelled_images(images_dir, labelled, size, seed, first_patient=len(plans) + 1)
    (out_dir / "Data_Entry_2017.csv").write_text("\n".join(entry_lines) + "\n", encoding="utf-8")
    (out_dir / "BBox_List_2017.csv").write_text("\n".join(box_lines) + "\n", encoding="utf-8")
    return {
        "out": str(out_dir),
        "images": len(plans) + labelled,
        "disease_images": disease,
        "healthy_images": healthy,
        "labelled_images": labelled,
        "boxes": len(box_lines) - 1,
        "size": size,
        "seed": seed,
    }
