"""The synthetic training images of the ori+pix2pix protocols, made from a trained Pix2Pix or Pix2Pix-N generator.

Each synthetic image starts from one *training-split* box of the localisation split: the real image is masked to the
box, passed through the generator and composed ``x + G(x) * (1 - m)``, so the box (and its label) is the real one and
everything around it is generated. Test-split images are never used: their lesion would otherwise reach training.
When more images are asked for than there are training boxes (688 against 573 in the paper), the boxes are cycled in
a seeded order; with the generator in eval mode a repeated box gives a repeated image, which the provenance records.

Written as a folder in the batch import format: ``manifest.csv`` (filename, finding, source, origin_image, bbox_x,
bbox_y, bbox_w, bbox_h at the generator's size), one PNG per image, and ``provenance.json``.
"""
from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from training.data.images import check_box_in_frame, load_xray_with_frame, scale_box
from training.data.nih import NIHIndex, image_path
from training.inference import load_generator, pix2pix_generate_batch

SOURCE_OF_KIND = {"pix2pix": "Pix2Pix", "pix2pix-n": "Pix2Pix-N"}
MANIFEST_FIELDS = ("filename", "finding", "source", "origin_image", "bbox_x", "bbox_y", "bbox_w", "bbox_h")


def make_synthetic_set(data_dir: Path, generator: Path, out_dir: Path, count: int = 688, seed: int = 0,
                       split_seed: int = 0, test_fraction: float = 0.3, split_by: str = "annotation",
                       device: str = "cpu", batch_size: int = 8, progress: bool = True) -> dict:
    """Generate ``count`` images into ``out_dir`` (which must not exist); returns the provenance record."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise ValueError(f"{out_dir} exists; choose a new folder for the synthetic set")
    if count < 1:
        raise ValueError(f"--count must be at least 1, got {count}")
    kind, model, meta = load_generator(Path(generator), device)
    if kind not in SOURCE_OF_KIND:
        raise ValueError(f"{generator} is a {kind} checkpoint; the localisation protocols need pix2pix or pix2pix-n "
                         "(a box-keeping generator)")
    source, size = SOURCE_OF_KIND[kind], meta["image_size"]
    index = NIHIndex.load(Path(data_dir))
    train = index.split(seed=split_seed, test_fraction=test_fraction, by=split_by).train
    if not train:
        raise ValueError(f"{data_dir}: the split leaves no training box to generate from")
    order = np.random.default_rng(seed).permutation(len(train))
    chosen = [train[order[i % len(train)]] for i in range(count)]

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows = []
    bar = tqdm(total=count, desc=f"{source} images", unit="img", disable=not progress)
    for start in range(0, count, batch_size):
        boxes, images = chosen[start:start + batch_size], []
        scaled = []
        for box in boxes:
            path = image_path(Path(data_dir), box.image)
            pixels, frame = load_xray_with_frame(path, size)
            check_box_in_frame(box.xywh, frame, f"{path} ({box.finding} box)")
            images.append(pixels)
            scaled.append(scale_box(box.xywh, frame, size))
        for offset, (box, xywh, composed) in enumerate(
            zip(boxes, scaled, pix2pix_generate_batch(model, images, scaled, device), strict=True)
        ):
            filename = f"{kind}_{start + offset:04d}.png"
            Image.fromarray(composed).save(tmp / filename)
            rows.append({"filename": filename, "finding": box.finding, "source": source, "origin_image": box.image,
                         **dict(zip(MANIFEST_FIELDS[4:], (repr(float(v)) for v in xywh), strict=True))})
        bar.update(len(boxes))
    bar.close()
    with (tmp / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    provenance = {
        "source": source,
        "generator": {"path": str(generator), "kind": kind, "sha256": meta["sha256"], "step": meta["step"]},
        "count": count,
        "distinct_boxes": len({(b.image, b.finding, b.xywh) for b in chosen}),
        "training_boxes": len(train),
        "split": {"by": split_by, "seed": split_seed, "test_fraction": test_fraction},
        "seed": seed,
        "image_size": size,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    tmp.rename(out_dir)
    return provenance
