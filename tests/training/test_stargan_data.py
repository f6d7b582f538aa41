"""StarGAN trained as its authors would: every image-level labelled image, attribute vectors, linear LR decay."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from training.cli import main
from training.data.nih import DataError, NIHIndex
from training.data.phantom import make_phantom
from training.data.stargan_data import (
    ATTRIBUTES,
    attribute_vector,
    held_out_patients,
    label_counts,
    stargan_training_images,
)
from training.stargan_trainer import stargan_lr

TINY = ["--profile", "quick", "--iters", "3", "--batch-size", "2", "--image-size", "32", "--device", "cpu",
        "--sample-every", "3", "--checkpoint-every", "3", "--log-every", "1", "--no-progress", "--loader-workers",
        "0"]


@pytest.fixture(scope="module")
def labelled_phantom(tmp_path_factory):
    out = tmp_path_factory.mktemp("stargan") / "nih"
    make_phantom(out, disease=8, healthy=6, size=32, seed=2, labelled=12)
    return out


def test_the_phantom_index_lists_labelled_images_without_boxes(labelled_phantom):
    index = NIHIndex.load(labelled_phantom)
    boxed = {b.image for b in index.boxes}
    unboxed = [name for name, labels in index.labels.items() if name not in boxed and labels != ("No Finding",)]
    assert len(unboxed) == 12
    assert any(len(index.labels[name]) == 2 for name in unboxed)  # some carry two findings


def test_labelled_zero_writes_what_older_versions_wrote(tmp_path):
    make_phantom(tmp_path / "a", disease=4, healthy=2, size=32, seed=5)
    make_phantom(tmp_path / "b", disease=4, healthy=2, size=32, seed=5, labelled=0)
    for name in ("Data_Entry_2017.csv", "BBox_List_2017.csv", "images/00000001_000.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_the_training_set_is_every_labelled_image_of_the_patients_not_held_out(labelled_phantom):
    index = NIHIndex.load(labelled_phantom)
    held_out = held_out_patients(index, seed=0, fraction=0.25)
    images = stargan_training_images(index, seed=0, holdout=0.25)
    expected = [name for name in index.labels if index.patients[name] not in held_out]
    assert images == expected  # every phantom image has one of the seven labels
    assert len(held_out) == -(-len(set(index.patients.values())) * 25 // 100)
    counts = label_counts(index, images)
    assert counts["images"] == len(images)
    assert sum(counts["per_label"].values()) == len(images) + counts["multi_label_images"]


def test_a_multi_label_image_is_one_attribute_vector_with_every_finding_set():
    vector = attribute_vector(("Effusion", "Infiltration", "Mass"))
    assert vector.tolist() == [0, 0, 0, 1, 1, 0, 0]
    assert attribute_vector(("No Finding",)).tolist() == [1, 0, 0, 0, 0, 0, 0]
    assert ATTRIBUTES[0] == "No Finding"


def test_an_index_without_the_labels_column_is_refused_naming_file_and_column(labelled_phantom, tmp_path):
    data = tmp_path / "nolabels"
    data.mkdir()
    (data / "BBox_List_2017.csv").write_bytes((labelled_phantom / "BBox_List_2017.csv").read_bytes())
    lines = (labelled_phantom / "Data_Entry_2017.csv").read_text().splitlines()
    (data / "Data_Entry_2017.csv").write_text("\n".join(line.replace("Finding Labels", "Labels", 1) for line in lines))
    with pytest.raises(DataError, match=r"Data_Entry_2017.csv: header has no column 'Finding Labels'"):
        NIHIndex.load(data)


def test_an_index_whose_labels_give_none_of_the_seven_is_refused_naming_file_and_column(tmp_path):
    make_phantom(tmp_path / "nih", disease=2, healthy=2, size=32, seed=1)
    entry = tmp_path / "nih" / "Data_Entry_2017.csv"
    lines = entry.read_text().splitlines()
    rows = [lines[0]] + [",".join([cells[0], "Mass", *cells[2:]]) for cells in (line.split(",") for line in lines[1:])]
    entry.write_text("\n".join(rows) + "\n")
    (tmp_path / "nih" / "BBox_List_2017.csv").write_text("Image Index,Finding Label,Bbox [x,y,w,h],,,\n")
    with pytest.raises(DataError, match=r"Data_Entry_2017.csv: column 'Finding Labels' gives no image of No Finding"):
        stargan_training_images(NIHIndex.load(tmp_path / "nih"))


def test_the_learning_rate_is_constant_for_half_the_run_then_falls_linearly_to_zero():
    rates = [stargan_lr(1e-4, step, 200_000) for step in (0, 99_999, 100_000, 100_999, 101_000, 150_000, 199_999)]
    assert rates[:4] == [1e-4] * 4  # updated every 1000 steps, as the official lr_update_step
    assert rates[4] == pytest.approx(1e-4 * 99_000 / 100_000)
    assert rates[5] == pytest.approx(0.5e-4)
    assert rates[6] == pytest.approx(1e-4 * 1_000 / 100_000)
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))


def test_an_image_level_run_trains_on_the_unboxed_images_and_names_its_data(labelled_phantom, tmp_path, capsys):
    out = tmp_path / "star"
    assert main(["stargan", "--data", str(labelled_phantom), "--out", str(out), *TINY]) == 0
    payload = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    index = NIHIndex.load(labelled_phantom)
    assert payload["config"]["stargan_data"] == "images"
    assert payload["training_data"] == "all image-level labelled images (Data_Entry)"
    assert payload["train_images"] == stargan_training_images(index, seed=0, holdout=0.1)
    assert set(payload["train_images"]) - {b.image for b in index.boxes} - set(index.healthy_images())
    assert payload["label_counts"]["images"] == len(payload["train_images"])
    assert np.isfinite(json.loads(capsys.readouterr().out.splitlines()[-1])["last_losses"]["loss_d_cls"])


def test_the_box_only_mode_stays_available_and_is_named_so(labelled_phantom, tmp_path):
    out = tmp_path / "boxes"
    assert main(["stargan", "--data", str(labelled_phantom), "--out", str(out), *TINY, "--stargan-data", "boxes",
                 "--healthy-pool", "4"]) == 0
    payload = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert payload["config"]["stargan_data"] == "boxes"
    assert payload["training_data"] == "box-only (box-list training split + healthy pool)"
    assert "train_images" not in payload


def test_an_older_box_only_checkpoint_is_not_resumed_as_an_image_level_run(tmp_path):
    from training.checkpoints import CheckpointError
    from training.config import make_config
    from training.runner import check_resumable

    config = make_config("stargan", "data", str(tmp_path), profile="quick")
    older = {k: v for k, v in config.to_dict().items() if k not in ("stargan_data", "stargan_holdout",
                                                                    "lr_decay_iters", "lr_update_every")}
    with pytest.raises(CheckpointError, match="stargan_data: checkpoint 'boxes' vs now 'images'"):
        check_resumable(older, config, tmp_path / "last.pt")
    boxes = make_config("stargan", "data", str(tmp_path), profile="quick", stargan_data="boxes", lr_decay_iters=0,
                        lr_update_every=1000)
    check_resumable(older, boxes, tmp_path / "last.pt")  # the same run: resumable
    pix2pix = make_config("pix2pix", "data", str(tmp_path), profile="quick")
    check_resumable({k: v for k, v in pix2pix.to_dict().items() if k != "stargan_data"}, pix2pix, tmp_path / "p.pt")
