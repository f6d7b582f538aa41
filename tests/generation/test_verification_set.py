"""The verification set end to end on a phantom dataset with tiny generators (per cell 2: 48 images)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from generation.pipeline import png_chunk_types
from generation.selection import SOURCES
from generation.verification import VerificationSetConfig, build_verification_set

FINDINGS = ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia", "Pneumothorax")


@pytest.fixture(scope="module")
def built(phantom_dir, tiny_checkpoints, tmp_path_factory):
    out = tmp_path_factory.mktemp("set") / "batch.zip"
    result = build_verification_set(VerificationSetConfig(
        data_dir=phantom_dir, checkpoints=tiny_checkpoints, out=out, per_cell=2, seed=11))
    with zipfile.ZipFile(out) as archive:
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        pngs = {row["filename"]: archive.read(row["filename"]) for row in manifest}
        provenance = json.loads(archive.read("provenance.json"))
    return result, manifest, pngs, provenance


def test_set_has_every_finding_and_source_cell_full(built):
    _, manifest, _, _ = built
    assert Counter((row["finding"], row["source"]) for row in manifest) == {
        (finding, source): 2 for finding in FINDINGS for source in SOURCES}


def test_every_source_image_serves_once(built):
    _, manifest, _, _ = built
    origins = [row["origin_image"] for row in manifest]
    assert len(origins) == len(set(origins)) == 48


def test_real_images_are_not_in_any_generators_training_split(built, tiny_checkpoints):
    import torch

    trained = set()
    for path in tiny_checkpoints.values():
        trained |= set(torch.load(path, weights_only=True)["split"]["train"])
    _, manifest, _, _ = built
    assert not {row["origin_image"] for row in manifest if row["source"] == "Real"} & trained


def test_every_row_says_whether_its_generator_trained_on_the_origin(built, tiny_checkpoints):
    import torch

    _, manifest, _, provenance = built
    kinds = {"Pix2Pix": "pix2pix", "Pix2Pix-N": "pix2pix-n", "StarGAN": "stargan"}
    trained = {}
    for source, kind in kinds.items():
        payload = torch.load(tiny_checkpoints[kind], weights_only=True)
        pool = {entry["image"] for entry in payload.get("healthy_pool", [])}
        trained[source] = set(payload["split"]["train"]) | pool | set(payload.get("train_images", []))
    for row in manifest:
        expected = "unseen" if row["source"] == "Real" else (
            "seen" if row["origin_image"] in trained[row["source"]] else "unseen")
        assert row["origin_seen"] == expected, row
    by_file = {r["filename"]: r["origin_seen"] for r in provenance["images"]}
    assert all(by_file[row["filename"]] == (row["origin_seen"] == "seen") for row in manifest)


def test_pix2pix_boxes_in_the_final_pngs_equal_the_real_images_pixels(built, phantom_dir):
    """Independent of the recorded audit: the written PNG's box region equals the source image's (working size 256,
    default margin: the final image is the 256 image cropped by 16 px, so box pixels map one to one)."""
    from training.data.images import load_xray
    from training.data.nih import image_path

    _, manifest, pngs, provenance = built
    boxes = {r["filename"]: r["box_working"] for r in provenance["images"] if r["box_identical"] is not None}
    checked = 0
    for row in manifest:
        if row["source"] not in ("Pix2Pix", "Pix2Pix-N"):
            continue
        final = np.asarray(Image.open(io.BytesIO(pngs[row["filename"]])))
        real = load_xray(image_path(phantom_dir, row["origin_image"]), 256)[16:240, 16:240]
        x, y, w, h = (float(row[k]) for k in ("bbox_x", "bbox_y", "bbox_w", "bbox_h"))
        x0, y0, x1, y1 = int(np.floor(x)), int(np.floor(y)), int(np.ceil(x + w)), int(np.ceil(y + h))
        assert (x0, y0) == (max(int(np.floor(boxes[row["filename"]][0])) - 16, 0),
                            max(int(np.floor(boxes[row["filename"]][1])) - 16, 0))
        assert np.array_equal(final[y0:y1, x0:x1], real[y0:y1, x0:x1])
        assert not np.array_equal(final, real)  # the surroundings were regenerated
        checked += 1
    assert checked == 24


def test_audit_records_box_identity_for_every_generated_box(built):
    _, _, _, provenance = built
    records = [r for r in provenance["images"] if r["source"] in ("Pix2Pix", "Pix2Pix-N")]
    assert len(records) == 24
    assert all(r["box_identical"] is True and r["max_abs_diff_in_box"] == 0 for r in records)
    assert provenance["audit"] == {"working_size": 256, "box_checked": 24, "box_identical": 24,
                                   "max_abs_diff_in_box": 0, "final_size": 224, "box_checked_224": 24,
                                   "box_identical_224": 24, "max_abs_diff_in_box_224": 0,
                                   "min_box_kept_fraction_224": provenance["audit"]["min_box_kept_fraction_224"]}
    assert provenance["audit"]["min_box_kept_fraction_224"] > 0.5


def test_all_four_sources_have_the_same_png_layout(built):
    _, manifest, pngs, _ = built
    layouts = set()
    for row in manifest:
        png = pngs[row["filename"]]
        image = Image.open(io.BytesIO(png))
        bit_depth, colour_type = png[24], png[25]
        layouts.add((row["source"], tuple(png_chunk_types(png)), bit_depth, colour_type, image.mode, image.size))
    assert {layout[1:] for layout in layouts} == {(("IHDR", "IDAT", "IEND"), 8, 0, "L", (224, 224))}
    assert {layout[0] for layout in layouts} == set(SOURCES)


def test_provenance_names_checkpoints_seeds_split_versions_and_times(built, tiny_checkpoints):
    _, _, _, provenance = built
    for kind, path in tiny_checkpoints.items():
        record = provenance["checkpoints"][kind]
        assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (record["step"], record["seed"], record["image_size"]) == (7, 0, 256)
        assert record["split"]["train_images"] > 0 and record["split"]["test_images"] > 0
    assert provenance["seed"] == 11 and provenance["per_cell"] == 2
    assert provenance["created_at"] <= provenance["finished_at"]
    assert {"torch", "numpy", "pillow", "scikit-image", "python"} <= set(provenance["versions"])
    assert {r["split"] for r in provenance["images"] if r["source"] == "Real"} == {"held-out"}


def test_provenance_carries_quality_figures_per_source_and_finding(built):
    _, _, _, provenance = built
    quality = provenance["quality"]
    for source in ("Pix2Pix", "Pix2Pix-N", "StarGAN"):
        for finding in FINDINGS:
            figures = quality[source][finding]
            assert figures["images"] == 2 and -1 <= figures["ssim"]["mean"] <= 1 and figures["psnr"]["mean"] > 0
    assert "ssim" not in quality["Real"]["Effusion"]


def test_manifest_boxes_only_for_pix2pix_sources(built):
    _, manifest, _, _ = built
    for row in manifest:
        has_box = row["bbox_w"] != ""
        assert has_box == (row["source"] in ("Pix2Pix", "Pix2Pix-N"))


def test_same_inputs_give_the_same_images(built, phantom_dir, tiny_checkpoints, tmp_path):
    _, _, pngs, _ = built
    again = build_verification_set(VerificationSetConfig(
        data_dir=phantom_dir, checkpoints=tiny_checkpoints, out=tmp_path / "again.zip", per_cell=2, seed=11))
    with zipfile.ZipFile(again.out) as archive:
        assert all(archive.read(name) == png for name, png in pngs.items())


def test_provenance_carries_the_per_cell_plan_and_the_inference_mode(built):
    _, manifest, _, provenance = built
    assert provenance["plan"]["pairing"] == "disjoint"
    cells = {(c["source"], c["finding"]): c for c in provenance["plan"]["cells"]}
    assert Counter((row["source"], row["finding"]) for row in manifest) == {k: c["origins"] for k, c in cells.items()}
    for finding in FINDINGS:
        assert cells[("Pix2Pix", finding)]["seen"] == cells[("Pix2Pix-N", finding)]["seen"]
    assert provenance["inference"]["mode"] == "deterministic" and "reproducible" in provenance["inference"]["why"]


def test_stochastic_inference_draws_new_surroundings_and_keeps_the_box(built, phantom_dir, tiny_checkpoints,
                                                                      tmp_path):
    _, manifest, pngs, _ = built
    again = build_verification_set(VerificationSetConfig(
        data_dir=phantom_dir, checkpoints=tiny_checkpoints, out=tmp_path / "stochastic.zip", per_cell=2, seed=11,
        inference="stochastic"))
    assert again.provenance["inference"]["mode"] == "stochastic"
    assert again.provenance["audit"]["box_identical_224"] == again.provenance["audit"]["box_checked_224"] == 24
    with zipfile.ZipFile(again.out) as archive:
        generated = [row["filename"] for row in manifest if row["source"] in ("Pix2Pix", "Pix2Pix-N")]
        assert all(archive.read(name) != pngs[name] for name in generated)


def test_the_final_224_check_sees_a_change_inside_the_box_and_ignores_the_surroundings():
    from generation.verification import _final_box_check

    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    box = (20.0, 24.0, 24.0, 20.0)  # working size 64: the final pipeline enlarges 4x, so the edge blends
    generated = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    generated[24:44, 20:44] = real[24:44, 20:44]
    kept = _final_box_check(real, generated, box, 64, 16 / 256)
    assert kept["box_identical_224"] and kept["box_pixels_checked_224"] > 0
    generated[34, 32] ^= 0x80
    changed = _final_box_check(real, generated, box, 64, 16 / 256)
    assert not changed["box_identical_224"] and changed["max_abs_diff_in_box_224"] > 0


def test_every_stargan_image_carries_its_origin_in_the_same_frame(built, phantom_dir):
    """``origins/<file>`` for each StarGAN image and no other: the origin through the same final pipeline (working size
    256, default margin: the 256 image cropped by 16 px), so it differs from its fake only where StarGAN changed it."""
    from training.data.images import load_xray
    from training.data.nih import image_path

    result, manifest, pngs, provenance = built
    stargan = {row["filename"]: row for row in manifest if row["source"] == "StarGAN"}
    with zipfile.ZipFile(result.out) as archive:
        origins = {name[len("origins/"):]: archive.read(name) for name in archive.namelist()
                   if name.startswith("origins/")}
    assert set(origins) == set(stargan) and len(origins) == 12
    for filename, png in origins.items():
        assert png_chunk_types(png) == ["IHDR", "IDAT", "IEND"]
        origin = np.asarray(Image.open(io.BytesIO(png)))
        expected = load_xray(image_path(phantom_dir, stargan[filename]["origin_image"]), 256)[16:240, 16:240]
        assert origin.dtype == np.uint8 and np.array_equal(origin, expected)
        assert not np.array_equal(origin, np.asarray(Image.open(io.BytesIO(pngs[filename]))))
    assert provenance["origins"]["images"] == 12 and provenance["origins"]["folder"] == "origins/"
