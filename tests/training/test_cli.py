"""``python -m training`` end to end on a small phantom set: make it, train each model, use the checkpoints."""

import json
import shutil

import numpy as np
import pytest

from training.cli import main
from training.data.images import box_mask, load_xray
from training.data.nih import NIHIndex, image_path
from training.inference import load_generator, pix2pix_generate, stargan_translate

TINY = ["--profile", "quick", "--iters", "4", "--batch-size", "2", "--image-size", "32", "--device", "cpu",
        "--healthy-pool", "6", "--sample-every", "2", "--checkpoint-every", "2", "--log-every", "1", "--no-progress"]


@pytest.fixture(scope="module")
def cli_phantom(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "nih"
    assert main(["make-phantom", "--out", str(out), "--disease", "12", "--healthy", "8", "--size", "64",
                 "--seed", "1"]) == 0
    return out


def test_make_phantom_then_index(cli_phantom, capsys):
    assert main(["index", "--data", str(cli_phantom), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 12 and summary["healthy_pool"] == 8
    assert summary["split"]["train"] + summary["split"]["test"] == summary["boxes"]


def test_pix2pix_n_run_writes_everything_and_its_generator_composes(cli_phantom, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["pix2pix-n", "--data", str(cli_phantom), "--out", str(out), *TINY]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["step"] == 4
    assert json.loads((out / "config.json").read_text())["kind"] == "pix2pix-n"
    assert len((out / "losses.csv").read_text().splitlines()) == 1 + 4
    assert (out / "loss_curve.png").stat().st_size > 1000
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_0000002.png", "step_0000004.png"]
    kind, model, meta = load_generator(out / "checkpoints" / "last.pt")
    assert kind == "pix2pix-n" and meta["image_size"] == 32 and meta["step"] == 4 and len(meta["sha256"]) == 64
    box = NIHIndex.load(cli_phantom).boxes[0]
    image = load_xray(image_path(cli_phantom, box.image), 32)
    scaled = (box.x / 2, box.y / 2, box.w / 2, box.h / 2)
    composed = pix2pix_generate(model, image, scaled)
    inside = box_mask(32, scaled) > 0
    assert np.array_equal(composed[inside], image[inside])


def test_stargan_run_translates_healthy_to_a_finding(cli_phantom, tmp_path, capsys):
    out = tmp_path / "star"
    assert main(["stargan", "--data", str(cli_phantom), "--out", str(out), *TINY]) == 0
    kind, model, meta = load_generator(out / "checkpoints" / "last.pt")
    assert kind == "stargan"
    healthy = NIHIndex.load(cli_phantom).healthy_images()[0]
    translated = stargan_translate(model, load_xray(image_path(cli_phantom, healthy), 32), "Effusion")
    assert translated.shape == (32, 32) and translated.dtype == np.uint8


def test_resuming_a_run_as_another_model_names_the_checkpoint(cli_phantom, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["pix2pix", "--data", str(cli_phantom), "--out", str(out), *TINY]) == 0
    assert main(["stargan", "--data", str(cli_phantom), "--out", str(out), *TINY, "--resume"]) == 2
    assert "last.pt: checkpoint is a 'pix2pix' model, expected stargan" in capsys.readouterr().err


def test_missing_image_fails_by_name_or_is_skipped_and_counted(cli_phantom, tmp_path, capsys):
    data = tmp_path / "nih"
    shutil.copytree(cli_phantom, data)
    split = NIHIndex.load(data).split()
    missing = split.train[0].image
    (data / "images" / missing).unlink()
    assert main(["pix2pix", "--data", str(data), "--out", str(tmp_path / "a"), *TINY]) == 2
    assert f"image file {missing} not found" in capsys.readouterr().err
    assert main(["pix2pix", "--data", str(data), "--out", str(tmp_path / "b"), *TINY, "--skip-bad"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    lost = sum(1 for b in split.train if b.image == missing)
    assert result["skipped"] == {"unreadable_images": lost}
