"""The synthetic training images of the ori+pix2pix protocols, made from a trained Pix2Pix or Pix2Pix-N generator.

Each synthetic image starts from one *training-split* box of the localisation split: the real image is masked to the
box, passed through the generator and composed ``x + G(x) * (1 - m)``, so the box (and its label) is the real one and
everything around it is generated. Test-split images are never used: their lesion would otherwise reach training.
When more images are asked for than there are training boxes (688 against 573 in the paper), the boxes are cycled in
a seeded order, and every pass after the first draws a new joint augmentation of image and box (the training
augmentation: small rotation, crop zoom, reflection; seeded per image), so all images are distinct; a pixel-identical
pair would stop the command. The generator must have been trained on the localisation split (same box list hash, or
the same training images for an older checkpoint that carries no hash): else its "training" boxes would include test
lesions it learnt, or miss its own, and the run is refused.

Written as a folder in the batch import format: ``manifest.csv`` (filename, finding, source, origin_image, bbox_x,
bbox_y, bbox_w, bbox_h at the generator's size), one PNG per image, and ``provenance.json``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from batchformat.manifest import BOX_COLUMNS, MANIFEST_NAME, REQUIRED_COLUMNS
from training.data.augment import augment_pair
from training.data.images import check_box_in_frame, load_xray_with_frame, scale_box
from training.data.nih import NIHIndex, Split, image_path, split_record
from training.inference import load_generator, pix2pix_generate_batch

SOURCE_OF_KIND = {"pix2pix": "Pix2Pix", "pix2pix-n": "Pix2Pix-N"}
MANIFEST_FIELDS = (*REQUIRED_COLUMNS, "origin_image", *BOX_COLUMNS)


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
    split = index.split(seed=split_seed, test_fraction=test_fraction, by=split_by)
    record = split_record(split, split_seed, test_fraction, split_by)
    check_generator_split(meta, split, record, Path(generator))
    train = split.train
    if not train:
        raise ValueError(f"{data_dir}: the split leaves no training box to generate from")
    order = np.random.default_rng(seed).permutation(len(train))
    chosen = [train[order[i % len(train)]] for i in range(count)]

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows = []
    digests: dict[str, str] = {}
    bar = tqdm(total=count, desc=f"{source} images", unit="img", disable=not progress)
    for start in range(0, count, batch_size):
        boxes, images = chosen[start:start + batch_size], []
        scaled = []
        for offset, box in enumerate(boxes):
            path = image_path(Path(data_dir), box.image)
            pixels, frame = load_xray_with_frame(path, size)
            check_box_in_frame(box.xywh, frame, f"{path} ({box.finding} box)")
            xywh = scale_box(box.xywh, frame, size)
            if (start + offset) >= len(train):  # a later pass over the boxes: a fresh augmentation of each
                pixels, xywh = augment_pair(pixels, xywh, np.random.default_rng([seed, start + offset]))
            images.append(pixels)
            scaled.append(xywh)
        for offset, (box, xywh, composed) in enumerate(
            zip(boxes, scaled, pix2pix_generate_batch(model, images, scaled, device), strict=True)
        ):
            filename = f"{kind}_{start + offset:04d}.png"
            digest = hashlib.sha256(composed.tobytes()).hexdigest()
            if digest in digests:
                raise ValueError(f"{filename} is pixel-identical to {digests[digest]}; nothing was written")
            digests[digest] = filename
            Image.fromarray(composed).save(tmp / filename)
            rows.append({"filename": filename, "finding": box.finding, "source": source, "origin_image": box.image,
                         **dict(zip(BOX_COLUMNS, (repr(float(v)) for v in xywh), strict=True))})
        bar.update(len(boxes))
    bar.close()
    with (tmp / MANIFEST_NAME).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    provenance = {
        "source": source,
        "generator": {"path": str(generator), "kind": kind, "sha256": meta["sha256"], "step": meta["step"]},
        "count": count,
        "distinct_boxes": len({(b.image, b.finding, b.xywh) for b in chosen}),
        "distinct_images": len(digests),
        "passes": -(-count // len(train)),
        "later_passes": "joint augmentation of image and box (rotation, crop zoom, reflection), seeded per image",
        "training_boxes": len(train),
        "split": {"by": split_by, "seed": split_seed, "test_fraction": test_fraction},
        "split_record": record,
        "seed": seed,
        "image_size": size,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    tmp.rename(out_dir)
    return provenance


def check_generator_split(meta: dict, split: Split, record: dict, path: Path) -> None:
    """Refuse a generator trained on another split than the localisation experiment's (see the module docstring)."""
    saved = meta.get("split_record")
    if saved:
        if saved.get("boxes_sha256") != record["boxes_sha256"]:
            raise ValueError(
                f"{path} was trained on another split (seed {saved.get('seed')}, test fraction "
                f"{saved.get('test_fraction')}, by {saved.get('by')}, box list {saved.get('boxes_sha256', '')[:12]}) "
                f"than this localisation split (seed {record['seed']}, test fraction {record['test_fraction']}, by "
                f"{record['by']}, box list {record['boxes_sha256'][:12]}): its training boxes are not this split's; "
                "use a generator trained with the localisation split or pass its --split-seed/--split-by")
        return
    trained = set(meta.get("split", {}).get("train", []))
    if trained != set(split.image_names()["train"]):
        raise ValueError(
            f"{path} was trained on other images ({len(trained)} training images) than this localisation split's "
            f"{len(split.image_names()['train'])} (seed {record['seed']}, by {record['by']}): use a generator trained "
            "with the localisation split or pass its --split-seed/--split-by")
