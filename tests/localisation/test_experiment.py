"""The localisation command end to end on a tiny phantom set: outputs, resume, Table 2 assembly, bad input."""
from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from training.cli import main
from training.data.nih import NIHIndex
from training.data.phantom import make_phantom
from training.localisation.metric import FindingScore
from training.localisation.table2 import append_metrics

from .helpers import MANIFEST_COLUMNS

TINY = ["--backbone", "mobilenet_v3_large_fpn", "--eval-images", "2", "--threads", "2", "--no-progress"]


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("phantom")
    make_phantom(data, disease=10, healthy=1, size=256, seed=1)
    return data


@pytest.fixture(scope="module")
def pix2pix_batch(phantom, tmp_path_factory) -> Path:
    """A batch in the import format whose 'Pix2Pix' images are phantom images with their own boxes."""
    path = tmp_path_factory.mktemp("batch") / "batch.zip"
    boxes = NIHIndex.load(phantom).split(seed=0).train[:4]
    with zipfile.ZipFile(path, "w") as archive:
        rows = []
        for i, box in enumerate(boxes):
            name = f"p2p_{i}.png"
            archive.write(phantom / "images" / box.image, name)
            rows.append([name, box.finding, "Pix2Pix", box.image, box.x, box.y, box.w, box.h])
        lines = [",".join(MANIFEST_COLUMNS)] + [",".join(str(c) for c in row) for row in rows]
        archive.writestr("manifest.csv", "\n".join(lines) + "\n")
    return path


def test_a_tiny_run_writes_metrics_table_curve_config_and_checkpoint(phantom, pix2pix_batch, tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["localisation", "--data", str(phantom), "--protocol", "ori+pix2pix", "--synthetic",
                   str(pix2pix_batch), "--synthetic-count", "3", "--steps", "2", "--eval-every", "2",
                   "--report-steps", "2", "--window", "1", "--out", str(out), *TINY])
    assert status == 0
    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["step"] for r in rows} == {"2"}
    assert {r["finding"] for r in rows} == {"Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia",
                                            "Pneumothorax", "Total"}
    config = json.loads((out / "config.json").read_text())
    assert config["protocol"] == "ori+pix2pix" and config["lr"] == 0.0003 and config["batch_size"] == 2
    assert config["data_counts"]["train_synthetic_images"] == 3 and config["data_counts"]["test_images"] == 2
    assert (out / "table2.csv").read_text().splitlines()[:2] == ["Finding,Ori+Pix2Pix", ",2*"]  # window [1, 3] cut
    assert "window truncated to [1, 2] (the run ends at 2)" in (out / "table2.md").read_text()
    assert (out / "table2.md").read_text() in capsys.readouterr().out
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "learning.csv").read_text().splitlines()[0] == "step,loss,cl,baseline_cl,fp_per_image"
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
    checkpoint = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert (checkpoint["kind"], checkpoint["step"], checkpoint["seed"]) == ("detector", 2, 0)
    assert set(checkpoint["split"]) == {"train", "test"}
    assert checkpoint["split_record"]["seed"] == 0 and len(checkpoint["split_record"]["boxes_sha256"]) == 64


SMALL = ["--eval-every", "1", "--window", "1", "--image-size", "128", *TINY]


@pytest.fixture(scope="module")
def one_step_run(phantom, tmp_path_factory) -> Path:
    """A finished one-step run at 128 px (a small, quick stand-in for an interrupted run)."""
    out = tmp_path_factory.mktemp("one-step") / "run"
    assert main(["localisation", "--data", str(phantom), "--steps", "1", "--report-steps", "1", "--out", str(out),
                 *SMALL]) == 0
    return out


def test_resuming_continues_exactly_where_an_uninterrupted_run_would_be(phantom, one_step_run, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    shutil.copytree(one_step_run, resumed)
    two_steps = ["--data", str(phantom), "--steps", "2", "--report-steps", "2", *SMALL]
    assert main(["localisation", *two_steps, "--out", str(straight)]) == 0
    assert main(["localisation", *two_steps, "--out", str(resumed), "--resume"]) == 0
    a = torch.load(straight / "checkpoints" / "last.pt", weights_only=True)
    b = torch.load(resumed / "checkpoints" / "last.pt", weights_only=True)
    assert b["step"] == 2
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert (straight / "metrics.csv").read_text() == (resumed / "metrics.csv").read_text()


def test_resuming_with_other_training_settings_is_refused(phantom, one_step_run, capsys):
    args = ["--data", str(phantom), "--steps", "2", "--report-steps", "2", "--out", str(one_step_run), *SMALL]
    assert main(["localisation", *args, "--lr", "0.01", "--resume"]) == 2
    assert "belongs to a run with other settings (lr: 0.0003 -> 0.01)" in capsys.readouterr().err


def fake_run(root: Path, protocol: str, cl: float) -> Path:
    run = root / protocol
    run.mkdir()
    config = {"protocol": protocol, "findings": ["Effusion"], "report_steps": [5000], "window_half_width": 500}
    (run / "config.json").write_text(json.dumps(config))
    for step, value in ((4500, cl), (5000, cl / 2)):
        append_metrics(run / "metrics.csv", step, {"Effusion": FindingScore(int(value * 10), 10),
                                                   "Total": FindingScore(int(value * 10), 10)})
    return run


def test_table2_command_assembles_one_column_group_per_protocol(tmp_path, capsys):
    runs = [fake_run(tmp_path, "ori+pix2pix-n", 0.6), fake_run(tmp_path, "ori", 0.2)]
    assert main(["table2", *map(str, runs), "--out", str(tmp_path / "table")]) == 0
    assert (tmp_path / "table" / "table2.md").read_text().splitlines()[2:5] == [
        "| Finding | Ori 5k* | Ori+Pix2Pix-N 5k* |", "|---|---:|---:|", "| Effusion | 0.20 | 0.60 |"]
    assert (tmp_path / "table" / "curve.png").is_file()
    out = capsys.readouterr().out
    assert "| **Total (mean of rows)** | 0.20 | 0.60 |" in out and "| **Total (box-weighted)** | 0.20 | 0.60 |" in out


def run_error(args: list[str], capsys) -> str:
    assert main(["localisation", *args]) == 2
    return capsys.readouterr().err


def test_steps_fewer_than_the_reporting_window_are_refused(phantom, tmp_path, capsys):
    err = run_error(["--data", str(phantom), "--out", str(tmp_path / "r"), "--steps", "9000"], capsys)
    assert "--steps 9000 is fewer than the last reported step 15000" in err
    assert not (tmp_path / "r").exists()


def test_a_synthetic_protocol_without_a_synthetic_set_is_refused(phantom, tmp_path, capsys):
    err = run_error(["--data", str(phantom), "--out", str(tmp_path / "r"), "--protocol", "ori+pix2pix-n"], capsys)
    assert "protocol ori+pix2pix-n adds synthetic images: give the batch with --synthetic" in err


def test_a_synthetic_set_without_the_protocols_source_is_refused(phantom, pix2pix_batch, tmp_path, capsys):
    err = run_error(["--data", str(phantom), "--out", str(tmp_path / "r"), "--protocol", "ori+pix2pix-n",
                     "--synthetic", str(pix2pix_batch), "--steps", "1", "--report-steps", "1", *TINY], capsys)
    assert "no image of source 'Pix2Pix-N'" in err


def test_an_existing_run_is_not_overwritten(phantom, tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text("{}")
    err = run_error(["--data", str(phantom), "--out", str(tmp_path / "r"), "--steps", "1", "--report-steps", "1"],
                    capsys)
    assert "already holds a run; pass --resume" in err
