"""Detection data: real images of a split side, synthetic images with their known boxes, and bad input."""
from __future__ import annotations

import pytest

from training.data.nih import FINDINGS, BoxAnnotation, DataError
from training.data.phantom import make_phantom
from training.localisation.data import real_images, synthetic_images, to_target

from .helpers import pix2pix_rows, write_batch


def test_synthetic_boxes_are_scaled_from_the_image_frame_to_256(tmp_path):
    batch = write_batch(tmp_path / "batch.zip", pix2pix_rows(2), size=(512, 1024))
    images = synthetic_images(batch, "Pix2Pix", 2, seed=0, size=256, findings=FINDINGS, progress=False)
    assert [i.pixels.shape for i in images] == [(256, 256), (256, 256)]
    (box,) = images[0].boxes
    assert (box.finding, box.x1, box.y1, box.x2, box.y2) == ("Effusion", 50.0, 12.5, 150.0, 37.5)


def test_synthetic_rows_are_chosen_by_source_case_insensitively(tmp_path):
    batch = write_batch(tmp_path / "batch.zip", pix2pix_rows(3, "Pix2Pix") + pix2pix_rows(2, "Pix2Pix-N"))
    images = synthetic_images(batch, "pix2pix-n", 2, seed=0, size=256, findings=FINDINGS, progress=False)
    assert {i.origin for i in images} == {"Pix2Pix-N"}


def test_a_larger_set_is_sampled_by_seed(tmp_path):
    batch = write_batch(tmp_path / "batch.zip", pix2pix_rows(6))
    first = [i.name for i in synthetic_images(batch, "Pix2Pix", 3, 1, 256, FINDINGS, progress=False)]
    again = [i.name for i in synthetic_images(batch, "Pix2Pix", 3, 1, 256, FINDINGS, progress=False)]
    assert first == again and len(set(first)) == 3


def test_a_folder_with_a_manifest_works_like_a_zip(tmp_path):
    import zipfile

    batch = write_batch(tmp_path / "batch.zip", pix2pix_rows(2))
    zipfile.ZipFile(batch).extractall(tmp_path / "folder")
    images = synthetic_images(tmp_path / "folder", "Pix2Pix", 2, 0, 256, FINDINGS, progress=False)
    assert len(images) == 2


def test_a_synthetic_set_without_box_columns_is_refused(tmp_path):
    batch = write_batch(tmp_path / "batch.zip", pix2pix_rows(2), columns=["filename", "finding", "source"])
    with pytest.raises(DataError, match="has no boxes"):
        synthetic_images(batch, "Pix2Pix", 2, 0, 256, FINDINGS, progress=False)


def test_a_synthetic_row_with_empty_box_cells_is_refused(tmp_path):
    rows = pix2pix_rows(2)
    rows[1]["bbox_w"] = ""
    batch = write_batch(tmp_path / "batch.zip", rows)
    with pytest.raises(DataError, match=r"line 3 \(pix2pix_001.png\): no box"):
        synthetic_images(batch, "Pix2Pix", 2, 0, 256, FINDINGS, progress=False)


def test_a_box_outside_its_image_is_refused(tmp_path):
    rows = pix2pix_rows(2)
    rows[0]["bbox_x"] = 400  # 400 + 200 > 512
    batch = write_batch(tmp_path / "batch.zip", rows)
    with pytest.raises(DataError, match=r"pix2pix_000.png.*lies outside the 512x512 image"):
        synthetic_images(batch, "Pix2Pix", 2, 0, 256, FINDINGS, progress=False)


def test_a_finding_the_detector_was_not_built_for_is_refused(tmp_path):
    batch = write_batch(tmp_path / "batch.zip", pix2pix_rows(1, finding="Mass"))
    with pytest.raises(DataError, match="finding 'Mass' is not one the detector was built for"):
        synthetic_images(batch, "Pix2Pix", 1, 0, 256, FINDINGS, progress=False)


def test_too_few_images_of_the_source_is_refused_with_the_counts(tmp_path):
    batch = write_batch(tmp_path / "batch.zip", pix2pix_rows(3))
    with pytest.raises(DataError, match="only 3 Pix2Pix images, the protocol adds 688"):
        synthetic_images(batch, "Pix2Pix", 688, 0, 256, FINDINGS, progress=False)
    with pytest.raises(DataError, match=r"no image of source 'Pix2Pix-N' \(sources present: \['Pix2Pix'\]\)"):
        synthetic_images(batch, "Pix2Pix-N", 1, 0, 256, FINDINGS, progress=False)


def test_real_images_group_their_boxes_and_scale_them_with_the_image(tmp_path):
    make_phantom(tmp_path, disease=2, healthy=0, size=512, seed=3)
    name = sorted(p.name for p in (tmp_path / "images").iterdir())[0]
    annotations = [BoxAnnotation(name, "Effusion", 100, 200, 50, 40), BoxAnnotation(name, "Atelectasis", 0, 0, 512, 8)]
    (image,) = real_images(tmp_path, annotations, 256, FINDINGS, progress=False)
    assert image.pixels.shape == (256, 256)
    assert [(b.finding, b.x1, b.y1, b.x2, b.y2) for b in image.boxes] == [
        ("Effusion", 50.0, 100.0, 75.0, 120.0), ("Atelectasis", 0.0, 0.0, 256.0, 4.0)]
    assert to_target(image, FINDINGS)["labels"].tolist() == [3, 1]


def test_a_real_box_outside_its_image_is_refused(tmp_path):
    make_phantom(tmp_path, disease=1, healthy=0, size=256, seed=3)
    name = next((tmp_path / "images").iterdir()).name
    with pytest.raises(DataError, match="lies outside the 256x256 image"):
        real_images(tmp_path, [BoxAnnotation(name, "Effusion", 200, 10, 100, 10)], 256, FINDINGS, progress=False)
