"""Bad input to a training run or to the GPU check is refused in one line, never with a traceback; ``--precision
auto`` on the CPU takes the faster path by a timed probe and says so."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest
import torch

from training import autotune
from training.cli import main
from training.config import make_config
from training.pix2pix_trainer import Pix2PixTrainer
from training.precision import fast_path, resolve_precision
from training.runner import train

CPU = torch.device("cpu")
REPO = Path(__file__).resolve().parents[2]


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, captured.err
    return lines[0]


def test_fp16_on_a_cpu_is_refused_in_one_line(phantom_dir, tmp_path, capsys):
    status = main(["pix2pix", "--data", str(phantom_dir), "--out", str(tmp_path / "run"), "--profile", "quick",
                   "--image-size", "32", "--iters", "1", "--device", "cpu", "--precision", "fp16", "--no-progress"])
    assert status == 2
    assert "--precision fp16 is for CUDA" in _one_line_error(capsys)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_global_batch_the_processes_cannot_share_is_refused_in_one_line(phantom_dir, tmp_path, capsys,
                                                                          monkeypatch):
    for name, value in (("WORLD_SIZE", "2"), ("RANK", "0"), ("LOCAL_RANK", "0")):
        monkeypatch.setenv(name, value)
    status = main(["pix2pix", "--data", str(phantom_dir), "--out", str(tmp_path / "run"), "--profile", "quick",
                   "--image-size", "32", "--iters", "1", "--batch-size", "3", "--device", "cpu", "--no-progress"])
    assert status == 2
    assert "--batch-size 3 is the global batch and must divide evenly among the 2" in _one_line_error(capsys)


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_gpu_check_without_a_gpu_says_so_in_one_line(capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    assert _gpu_check().main(["--device", "cuda"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().count("\n") == 0 and "no CUDA device is visible" in captured.err


def test_the_probe_takes_the_faster_candidate_and_reports_every_one(phantom_dir):
    config = make_config("pix2pix", str(phantom_dir), "unused", profile="quick", image_size=32, ngf=8, ndf=8)
    quick, slow = fast_path("fp32", CPU, "auto", threads=1), fast_path("fp32", CPU, "auto", channels_last=False)

    def make_trainer(candidate):
        trainer = Pix2PixTrainer(config, CPU, precision=candidate)
        if candidate is slow:  # this path made slower than the other, so the probe has a right answer
            step = trainer.step
            trainer.step = lambda *args, **kwargs: (time.sleep(0.05), step(*args, **kwargs))[1]
        return trainer

    chosen, figures = autotune.probe(config, CPU, [slow, quick], make_trainer)
    assert chosen.threads == 1 and chosen.channels_last
    assert "timed probe, fastest of" in chosen.reason and len(figures) == 2
    assert figures[0]["step_seconds"] > figures[1]["step_seconds"]


def test_the_probe_tries_both_layouts_and_builds_one_model_per_precision_and_layout(phantom_dir):
    """Thread counts change no arithmetic, so the candidates that differ only in threads share one trainer (at paper
    size each model holds about a gigabyte with its optimiser)."""
    config = make_config("pix2pix", str(phantom_dir), "unused", profile="quick", image_size=32, ngf=8, ndf=8)
    default = resolve_precision("auto", CPU, kind="pix2pix")
    candidates = autotune.cpu_candidates(default)
    assert {c.channels_last for c in candidates} == {True, False}
    built = []

    def make_trainer(candidate):
        built.append(candidate)
        return Pix2PixTrainer(config, CPU, precision=candidate)

    chosen, figures = autotune.probe(config, CPU, candidates, make_trainer, rounds=1)
    assert len(figures) == len(candidates)
    ways = {(c.name, c.channels_last, c.threads) for c in candidates}
    assert (chosen.name, chosen.channels_last, chosen.threads) in ways
    assert len(built) == len({(c.name, c.channels_last) for c in candidates})


def test_small_auto_runs_skip_the_probe_and_record_what_they_used(phantom_dir, tmp_path):
    config = make_config("pix2pix", str(phantom_dir), str(tmp_path), profile="quick", image_size=32, ngf=8, ndf=8,
                         iters=1, device="cpu", loader_workers=0)
    assert config.image_size < autotune.PROBE_MIN_IMAGE_SIZE
    train(config, progress=False)
    resolved = json.loads((tmp_path / "config.json").read_text())["precision_resolved"]
    default = resolve_precision("auto", CPU, kind="pix2pix")
    assert resolved["name"] == default.name and resolved["threads"] == 0


def test_the_gpu_check_runs_on_the_cpu_and_writes_its_table_as_json(phantom_dir, tmp_path, capsys):
    """Its CPU reference row: the fast path's steps against eager fp32 from the same weights (on a GPU run, the
    device against the CPU), and a row per check in the JSON file."""
    import shutil

    shutil.copytree(phantom_dir, tmp_path / "data")
    status = _gpu_check().main(["--device", "cpu", "--tiny", "--only", "2", "--workdir", str(tmp_path),
                                "--json", str(tmp_path / "rows.json")])
    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    assert status == 0 and [(r["check"], r["status"]) for r in rows] == [("2 reference", "PASS")]
    assert rows[0]["data"]["worst_relative"] < 0.02
    assert "| 2 reference |" in capsys.readouterr().out


def test_the_gpu_checks_generation_row_passes_on_the_phantom_it_draws(tmp_path):
    """Check 6 builds the verification set from the Pix2Pix that check 4 trained and two it trains itself, on
    gpu_check's own phantom, which must hold what the matched Real column is drawn from (it did not for a while,
    unseen, since the tests ran check 2 alone)."""
    status = _gpu_check().main(["--device", "cpu", "--tiny", "--only", "4,6", "--workdir", str(tmp_path),
                                "--json", str(tmp_path / "rows.json")])
    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    generation = [r for r in rows if r["check"] == "6 generation"]
    assert status == 0 and len(generation) == 2 and all(r["status"] == "PASS" for r in generation)
