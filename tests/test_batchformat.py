"""The batch format is written once (``batchformat``): what generation writes, the batch import and the localisation
data read, column for column and pixel for pixel."""
from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from batchformat.geometry import FINAL_SIZE, box_after_crop_and_resize, crop_and_resize, crop_offsets
from batchformat.manifest import COLUMNS, MANIFEST_NAME, REQUIRED_COLUMNS, missing_columns
from batchformat.png import BARE_CHUNKS, png_chunk_types
from generation import pipeline
from generation.archive import BatchZipWriter
from readerstudy.batches.manifest import parse_manifest
from readerstudy.batches.normalise import box_after_normalisation, normalise_image

ROOT = Path(__file__).resolve().parent.parent
MARGINS = [0.0, 16 / 256, 0.1]


def noise(size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)


def png_of(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def generated_batch(tmp_path, box=(10.5, 20.25, 30.0, 40.0)):
    with BatchZipWriter(tmp_path / "set.zip") as writer:
        writer.add_image("pix2pix_0000.png", png_of(noise(224)), {
            "finding": "Effusion", "source": "Pix2Pix", "origin_image": "00000001_000.png",
            **dict(zip(("bbox_x", "bbox_y", "bbox_w", "bbox_h"), box, strict=True)), "notes": "split=test"})
        return writer.commit({"kind": "verification-set"})


def test_the_manifest_generation_writes_has_every_column_of_the_format_in_order(tmp_path):
    with zipfile.ZipFile(generated_batch(tmp_path)) as archive:
        header = archive.read(MANIFEST_NAME).decode().splitlines()[0]
    assert tuple(header.split(",")) == COLUMNS


def test_the_batch_import_reads_every_column_generation_writes(tmp_path):
    with zipfile.ZipFile(generated_batch(tmp_path)) as archive:
        parsed = parse_manifest(archive.read(MANIFEST_NAME), findings={"Effusion": "effusion"},
                                sources={"Pix2Pix": "pix2pix"})
    assert parsed.errors == []
    [row] = parsed.rows
    assert set(row.raw) == set(COLUMNS)
    assert (row.finding, row.source, row.origin_image, row.box, row.notes) == (
        "effusion", "pix2pix", "00000001_000.png", (10, 20, 30, 40), "split=test")


def test_the_localisation_data_reads_the_boxes_generation_writes(tmp_path):
    from training.localisation.data import synthetic_images

    [image] = synthetic_images(generated_batch(tmp_path), "Pix2Pix", count=1, seed=0, size=224,
                               findings=["Effusion"], progress=False)
    [box] = image.boxes
    assert (image.origin, image.origin_image, box.finding) == ("Pix2Pix", "00000001_000.png", "Effusion")
    assert (box.x1, box.y1, box.x2, box.y2) == pytest.approx((10.5, 20.25, 40.5, 60.25))


def test_missing_columns_names_the_required_ones_absent_in_column_order():
    assert missing_columns(["source", "bbox_x"]) == ["filename", "finding"]
    assert missing_columns(REQUIRED_COLUMNS) == []


@pytest.mark.parametrize("margin", MARGINS)
def test_generation_and_the_batch_import_crop_a_256_image_to_the_same_pixels(margin):
    pixels = noise(256)
    imported = normalise_image(png_of(pixels), crop_margin=margin, max_pixels=4096 * 4096).png
    assert np.array_equal(pipeline.finalise(pixels, margin), np.asarray(Image.open(io.BytesIO(imported))))


@pytest.mark.parametrize("margin", MARGINS)
@pytest.mark.parametrize("box", [(0, 0, 40, 300), (100, 120, 30, 20), (250, 250, 10, 10)])
def test_generation_and_the_batch_import_move_a_box_the_same_way(margin, box):
    assert pipeline.box_in_final_image(box, from_size=256, crop_margin=margin) == box_after_normalisation(
        box, width=256, height=256, crop_margin=margin)


def test_an_image_already_224_is_neither_cropped_nor_resampled():
    image = Image.fromarray(noise(224))
    assert crop_and_resize(image, 0.1) is image
    assert box_after_crop_and_resize((1, 2, 3, 4), width=224, height=224, crop_margin=0.1) == (1.0, 2.0, 3.0, 4.0)


def test_a_crop_that_leaves_224_pixels_is_not_resampled():
    pixels = noise(256)
    assert crop_offsets(256, 256, 16 / 256) == (16, 16)
    cropped = crop_and_resize(Image.fromarray(pixels), 16 / 256)
    assert cropped.size == (FINAL_SIZE, FINAL_SIZE) and np.array_equal(np.asarray(cropped), pixels[16:240, 16:240])


def test_generation_and_the_batch_import_walk_png_chunks_alike():
    png = pipeline.final_png(noise(256), crop_margin=0.1)
    assert png_chunk_types(png) == list(BARE_CHUNKS)
    assert pipeline.png_chunk_types(png) == [kind.decode() for kind in BARE_CHUNKS]
    with pytest.raises(ValueError, match="not a PNG"):
        png_chunk_types(b"GIF89a")


def test_batchformat_imports_neither_django_nor_torch_nor_the_projects_packages():
    code = ("import sys, batchformat.geometry, batchformat.manifest, batchformat.png; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'torch', 'readerstudy', 'training', "
            "'generation'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=ROOT)
    assert result.stdout.strip() == "[]"
