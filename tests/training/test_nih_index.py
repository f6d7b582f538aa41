import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from training.data.healthy import healthy_pool
from training.data.nih import FINDINGS, DataError, NIHIndex, image_path

PAPER_COUNTS = {"Atelectasis": 180, "Effusion": 153, "Cardiomegaly": 146, "Infiltration": 123, "Pneumonia": 120,
                "Pneumothorax": 98}


@pytest.fixture(scope="module")
def real_index() -> NIHIndex:
    return NIHIndex.load(Path(__file__).resolve().parents[1] / "data" / "nih-metadata")


def test_real_lists_give_820_boxes_over_741_images(real_index):
    assert len(real_index.boxes) == 820
    assert len(real_index.images()) == 741


def test_real_lists_per_finding_counts_with_infiltrate_renamed(real_index):
    assert real_index.per_finding() == PAPER_COUNTS
    assert set(real_index.per_finding()) == set(FINDINGS)
    assert dict(real_index.dropped) == {"Mass": 85, "Nodule": 79}


def test_default_split_reproduces_the_papers_573_and_247(real_index):
    split = real_index.split()
    assert (len(split.train), len(split.test)) == (573, 247)
    assert set(split.train).isdisjoint(split.test)


def test_split_is_seeded(real_index):
    assert real_index.split(seed=4).test == real_index.split(seed=4).test
    assert real_index.split(seed=4).test != real_index.split(seed=5).test


def test_patient_split_keeps_every_patient_on_one_side(real_index):
    split = real_index.split(by="patient")
    train_patients = {real_index.patients[b.image] for b in split.train}
    test_patients = {real_index.patients[b.image] for b in split.test}
    assert train_patients.isdisjoint(test_patients)
    assert len(split.train) + len(split.test) == 820
    assert 230 <= len(split.test) <= 247


def test_annotation_split_lets_patients_leak_across_sides(real_index):
    split = real_index.split()
    leaked = {real_index.patients[b.image] for b in split.train} & {real_index.patients[b.image] for b in split.test}
    assert leaked, "the paper's annotation split is expected to share some patients between sides"


def test_healthy_images_are_the_no_finding_rows(real_index):
    assert len(real_index.healthy_images()) == 60361


def test_healthy_pool_is_seeded_and_boxes_stay_inside_the_image(real_index):
    pool = healthy_pool(real_index, 2000, seed=1)
    assert len(pool) == 2000 and len({b.image for b in pool}) == 2000
    assert pool == healthy_pool(real_index, 2000, seed=1)
    for box in pool:
        assert box.x >= 0 and box.y >= 0 and box.x + box.w <= 1024 and box.y + box.h <= 1024
        assert box.w > 0 and box.h > 0
    real_areas = sorted(b.w * b.h for b in real_index.boxes)
    pool_areas = sorted(b.w * b.h for b in pool)
    assert real_areas[0] <= pool_areas[len(pool_areas) // 2] <= real_areas[-1]


def test_index_command_prints_counts_as_json(real_metadata):
    done = subprocess.run([sys.executable, "-m", "training", "index", "--data", str(real_metadata), "--json"],
                          capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    assert (summary["boxes"], summary["images"]) == (820, 741)
    assert (summary["split"]["train"], summary["split"]["test"]) == (573, 247)
    assert summary["healthy_pool"] == 60361


def test_reads_the_2017_data_entry_layout_uncompressed(tmp_path, real_metadata):
    shutil.copy(real_metadata / "BBox_List_2017.csv", tmp_path)
    with gzip.open(real_metadata / "Data_Entry_2017_v2020.csv.gz", "rt") as source:
        lines = source.read().splitlines()
    (tmp_path / "Data_Entry_2017.csv").write_text("\n".join(line + "," for line in lines) + "\n")
    assert len(NIHIndex.load(tmp_path).boxes) == 820


def _write_lists(folder: Path, box_rows: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "Data_Entry_2017.csv").write_text(
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
        "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n"
        "00000001_000.png,Effusion,0,1,50,M,PA,1024,1024,0.14,0.14,\n"
        "00000002_000.png,No Finding,0,2,40,F,AP,1024,1024,0.14,0.14,\n")
    (folder / "BBox_List_2017.csv").write_text("Image Index,Finding Label,Bbox [x,y,w,h],,,\n" + "".join(box_rows))


def test_unknown_finding_label_names_the_row(tmp_path):
    _write_lists(tmp_path, ["00000001_000.png,Effusion,10,10,50,50,,,\n", "00000001_000.png,Fracture,10,10,5,5,,,\n"])
    with pytest.raises(DataError, match=r"BBox_List_2017.csv row 3: unknown finding label 'Fracture'"):
        NIHIndex.load(tmp_path)


def test_box_outside_the_image_names_the_row(tmp_path):
    _write_lists(tmp_path, ["00000001_000.png,Effusion,1000,10,50,50,,,\n"])
    with pytest.raises(DataError, match=r"row 2: box .* outside the 1024x1024 image"):
        NIHIndex.load(tmp_path)


def test_skip_bad_counts_what_it_skipped(tmp_path):
    _write_lists(tmp_path, ["00000001_000.png,Effusion,10,10,50,50,,,\n", "00000001_000.png,Fracture,1,1,5,5,,,\n",
                            "00000009_000.png,Effusion,10,10,50,50,,,\n"])
    index = NIHIndex.load(tmp_path, skip_bad=True)
    assert len(index.boxes) == 1
    assert index.skipped["box_rows"] == 2


def test_missing_data_entry_is_named(tmp_path):
    (tmp_path / "BBox_List_2017.csv").write_text("Image Index,Finding Label,Bbox [x,y,w,h],,,\n")
    with pytest.raises(DataError, match="no Data_Entry file"):
        NIHIndex.load(tmp_path)


def test_empty_healthy_pool_is_an_error(tmp_path):
    _write_lists(tmp_path, ["00000001_000.png,Effusion,10,10,50,50,,,\n"])
    text = (tmp_path / "Data_Entry_2017.csv").read_text().replace("No Finding", "Hernia")
    (tmp_path / "Data_Entry_2017.csv").write_text(text)
    with pytest.raises(DataError, match="healthy pool is empty"):
        healthy_pool(NIHIndex.load(tmp_path), 10)


def test_image_path_finds_nih_download_layout(tmp_path):
    (tmp_path / "images_003" / "images").mkdir(parents=True)
    (tmp_path / "images_003" / "images" / "00000001_000.png").write_bytes(b"x")
    assert image_path(tmp_path, "00000001_000.png") == tmp_path / "images_003" / "images" / "00000001_000.png"
    with pytest.raises(DataError, match="00000002_000.png not found"):
        image_path(tmp_path, "00000002_000.png")
