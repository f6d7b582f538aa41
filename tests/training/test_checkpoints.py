import csv

import pytest
import torch

from training.checkpoints import FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint
from training.config import make_config
from training.data.nih import NIHIndex
from training.runner import train


def _payload(kind="pix2pix", **extra):
    return {"kind": kind, "format_version": FORMAT_VERSION, "config": {"image_size": 32}, "step": 3, "seed": 0,
            "split": {"train": ["a.png"], "test": ["b.png"]}, "model": {"w": torch.ones(2)}, **extra}


def test_save_is_atomic_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "c" / "last.pt"
    save_checkpoint(path, _payload(step=1))
    save_checkpoint(path, _payload(step=2))
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]
    assert load_checkpoint(path)["step"] == 2


def test_checkpoint_of_another_model_is_refused_by_name(tmp_path):
    save_checkpoint(tmp_path / "s.pt", _payload(kind="stargan"))
    with pytest.raises(CheckpointError, match=r"s.pt: checkpoint is a 'stargan' model, expected pix2pix"):
        load_checkpoint(tmp_path / "s.pt", expected_kind="pix2pix")


def test_newer_format_is_refused(tmp_path):
    torch.save({**_payload(), "format_version": FORMAT_VERSION + 1}, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="newer than this code reads"):
        load_checkpoint(tmp_path / "new.pt")


def test_garbage_file_is_refused(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_payload_without_split_is_not_written(tmp_path):
    payload = _payload()
    del payload["split"]
    with pytest.raises(CheckpointError, match="without"):
        save_checkpoint(tmp_path / "x.pt", payload)


def _tiny(kind, data, out, iters, **overrides):
    settings = dict(iters=iters, batch_size=2, image_size=32, ngf=8, ndf=8, conv_dim=8, res_blocks=1, n_critic=2,
                    log_every=1, sample_every=2, checkpoint_every=3, healthy_pool=6)
    settings.update(overrides)
    return make_config(kind, str(data), str(out), profile="quick", device="cpu", **settings)


def _losses(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("kind", ["pix2pix-n", "stargan"])
def test_resume_gives_the_same_next_losses_as_an_uninterrupted_run(phantom_dir, tmp_path, kind):
    train(_tiny(kind, phantom_dir, tmp_path / "straight", 6), progress=False)
    train(_tiny(kind, phantom_dir, tmp_path / "resumed", 3), progress=False)
    assert load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")["step"] == 3
    train(_tiny(kind, phantom_dir, tmp_path / "resumed", 6), resume=True, progress=False)
    straight, resumed = _losses(tmp_path / "straight" / "losses.csv"), _losses(tmp_path / "resumed" / "losses.csv")
    assert len(straight) == 6
    assert resumed == straight  # bit-for-bit: CSV holds the full float repr


def test_resume_with_changed_settings_is_refused(phantom_dir, tmp_path):
    train(_tiny("pix2pix", phantom_dir, tmp_path, 3), progress=False)
    with pytest.raises(CheckpointError, match="cannot resume with different settings.*batch_size"):
        train(_tiny("pix2pix", phantom_dir, tmp_path, 6, batch_size=3), resume=True, progress=False)


def test_checkpoint_carries_config_seed_step_and_split(phantom_dir, tmp_path):
    train(_tiny("pix2pix", phantom_dir, tmp_path, 3), progress=False)
    saved = load_checkpoint(tmp_path / "checkpoints" / "last.pt", expected_kind="pix2pix")
    assert saved["step"] == 3 and saved["seed"] == 0 and saved["config"]["image_size"] == 32
    assert saved["split"]["train"] and saved["split"]["test"]
    assert saved["split"] == NIHIndex.load(phantom_dir).split(seed=0).image_names()
    assert {"torch", "numpy", "python"} <= set(saved["rng"])
