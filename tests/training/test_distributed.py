"""Multi-process training proven on the CPU: ``torchrun --nproc_per_node=2`` (gloo) against one process.

Tiny networks at 32 px, a few steps, in fp32 (bf16 rounds differently in a smaller batch). Pix2Pix runs with
``--norm instance --dropout 0`` where it is compared with one process: batch norm takes its statistics over each
process's share of the batch and dropout draws from each process's own stream, so only those two differ by design
(docs/training.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.checkpoints import CheckpointError, load_checkpoint
from training.cli import main
from training.config import make_config
from training.distributed import DistInfo, dist_info_from_env
from training.reproducibility import rng_state
from training.runner import check_same_world, restore_own_rng_state, train

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TINY = ["--profile", "quick", "--image-size", "32", "--device", "cpu", "--no-progress", "--healthy-pool", "6",
        "--log-every", "1", "--sample-every", "2", "--checkpoint-every", "2", "--loader-workers", "0",
        "--precision", "fp32"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    return {**env, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **extra}


def torchrun(args: list[str], audit_dir: Path, processes: int = 2) -> subprocess.CompletedProcess:
    audit_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               str(HERE / "torchrun_audited.py"), *args]
    return subprocess.run(command, cwd=REPO, env=_env(AUDIT_DIR=str(audit_dir)), capture_output=True, text=True,
                          timeout=300)


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    saved = load_checkpoint(run / "checkpoints" / "last.pt")
    return {f"{net}.{name}": tensor for net in ("model", "discriminator") for name, tensor in saved[net].items()
            if tensor.is_floating_point()}


def _largest_difference(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> float:
    assert first.keys() == second.keys()
    return max(float((first[k] - second[k]).abs().max()) for k in first)


def assert_same_weights_within_float_tolerance(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor],
                                               lr: float, steps: int) -> None:
    """Equal to 1e-5, except the odd element whose gradient is at rounding level (|g| ~ 1e-8): summing the batch in
    another order can flip its sign, and Adam's normalised step turns that into a difference of up to lr per step."""
    assert first.keys() == second.keys()
    total = sum(t.numel() for t in first.values())
    differing = sum(int(((first[k] - second[k]).abs() > 1e-5).sum()) for k in first)
    largest = _largest_difference(first, second)
    # measured: StarGAN (contiguous on the CPU) 29 of 286,336 elements after 5 steps, 2.0e-4 apart (lr 1e-4)
    assert differing <= total * 2e-4 and largest <= 2 * lr * steps, (differing, total, largest)


@pytest.fixture(scope="module")
def nih(tmp_path_factory) -> Path:
    from training.data.phantom import make_phantom

    out = tmp_path_factory.mktemp("torchrun") / "nih"
    make_phantom(out, disease=12, healthy=8, size=64, seed=1)
    return out


def pix2pix_args(nih: Path) -> list[str]:
    return ["pix2pix", "--data", str(nih), *TINY, "--batch-size", "4", "--norm", "instance", "--dropout", "0"]


@pytest.fixture(scope="module")
def two_process_pix2pix(nih, tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """Four steps of Pix2Pix on two processes: (run folder, audit folder, the torchrun result)."""
    folder = tmp_path_factory.mktemp("two-process-pix2pix")
    result = _ok(torchrun([*pix2pix_args(nih), "--iters", "4", "--out", str(folder / "run")], folder / "audit"))
    return folder / "run", folder / "audit", result


def test_pix2pix_on_two_processes_ends_where_one_process_with_the_global_batch_ends(nih, two_process_pix2pix,
                                                                                     tmp_path, capsys):
    """Augmentation on: each process augments its own slots, together exactly the one process's global batch."""
    two, _, _ = two_process_pix2pix
    assert main([*pix2pix_args(nih), "--iters", "4", "--out", str(tmp_path / "one")]) == 0
    assert_same_weights_within_float_tolerance(_weights(two), _weights(tmp_path / "one"), 2e-4, 4)


def test_only_rank_0_writes_files_and_prints_the_result(two_process_pix2pix):
    run, audit, result = two_process_pix2pix
    assert [line["step"] for line in _json_lines(result.stdout)] == [4]
    rank0 = json.loads((audit / "rank-0.json").read_text())
    rank1 = json.loads((audit / "rank-1.json").read_text())
    assert f"os.rename {run / 'checkpoints' / 'last.pt.tmp'}" in rank0
    assert f"open {run / 'config.json'}" in rank0 and f"open {run / 'samples' / 'step_0000004.png'}" in rank0
    assert rank1 == []


def test_stargan_on_two_processes_ends_where_one_process_with_the_global_batch_ends(nih, tmp_path, capsys):
    """Five steps: four critic updates and, with the quick profile's n_critic of 5, one generator update."""
    args = ["stargan", "--data", str(nih), *TINY, "--iters", "5", "--batch-size", "4"]
    two = _ok(torchrun([*args, "--out", str(tmp_path / "two")], tmp_path / "audit"))
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert_same_weights_within_float_tolerance(_weights(tmp_path / "two"), _weights(tmp_path / "one"), 1e-4, 5)
    assert len(_json_lines(two.stdout)) == 1
    assert json.loads((tmp_path / "audit" / "rank-1.json").read_text()) == []


def test_a_resumed_two_process_run_continues_bit_for_bit(nih, tmp_path, capsys):
    """Dropout on: each process draws its masks from its own stream, so the resumed run ends where the uninterrupted
    one does only if each process restores the RNG state it saved (with rank 0's state on both it would not)."""
    args = [*pix2pix_args(nih)[:-1], "0.5"]
    straight = tmp_path / "straight"
    _ok(torchrun([*args, "--iters", "4", "--out", str(straight)], tmp_path / "s"))
    _ok(torchrun([*args, "--iters", "2", "--out", str(tmp_path / "resumed")], tmp_path / "a"))
    saved = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")
    first, second = (state["torch"] for state in saved["rng_per_rank"])
    assert saved["world_size"] == 2 and saved["step"] == 2 and not torch.equal(first, second)
    _ok(torchrun([*args, "--iters", "4", "--out", str(tmp_path / "resumed"), "--resume"], tmp_path / "b"))
    assert _largest_difference(_weights(straight), _weights(tmp_path / "resumed")) == 0.0
    assert (load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")["history"]
            == load_checkpoint(straight / "checkpoints" / "last.pt")["history"])

    assert main([*args, "--iters", "4", "--out", str(tmp_path / "resumed"), "--resume"]) == 2
    refusal = capsys.readouterr().err
    assert "saved by a run of 2 process(es), resumed with 1" in refusal
    assert "torchrun --nproc_per_node=2" in refusal


def test_each_process_restores_the_rng_state_it_saved():
    saved = {"rng": rng_state(torch.device("cpu")), "rng_per_rank": []}
    for rank in range(2):
        torch.manual_seed(100 + rank)
        saved["rng_per_rank"].append(rng_state(torch.device("cpu")))
    restore_own_rng_state(saved, DistInfo(rank=1, world=2), torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), saved["rng_per_rank"][1]["torch"])
    restore_own_rng_state(saved, DistInfo(rank=0, world=2), torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), saved["rng_per_rank"][0]["torch"])


def test_discriminator_not_all_reduced_in_the_generator_step_and_stargan_averages_in_buckets(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(HERE / "torchrun_probe.py")]
    _ok(subprocess.run(command, cwd=REPO, env=_env(PROBE_DIR=str(tmp_path)), capture_output=True, text=True,
                       timeout=300))
    for rank in (0, 1):
        report = json.loads((tmp_path / f"rank-{rank}.json").read_text())
        steps = report["steps"]
        # one backward per network per step, each one bucket at these widths; D's G-step gradient is not reduced
        assert report["pix2pix_buckets"] == {"generator": steps, "discriminator": steps}
        # StarGAN (n_critic 1): one flat all-reduce per network per step, not one per parameter tensor (22 and 8)
        assert report["stargan_all_reduce_calls"] == 2 * steps
        assert min(report["stargan_parameter_tensors"].values()) > 2


def test_a_global_batch_the_processes_cannot_share_is_refused(nih, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    config = make_config("pix2pix", str(nih), str(tmp_path), profile="quick", batch_size=3, image_size=32,
                         device="cpu")
    with pytest.raises(ValueError, match="--batch-size 3 is the global batch and must divide evenly among the 2 "
                                         "processes"):
        train(config, progress=False)
    assert not (tmp_path / "config.json").exists()


def test_a_single_process_checkpoint_resumes_only_as_a_single_process(nih, tmp_path, monkeypatch):
    config = make_config("pix2pix", str(nih), str(tmp_path), profile="quick", batch_size=2, image_size=32, ngf=8,
                         ndf=8, iters=1, device="cpu", loader_workers=0)
    train(config, progress=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    saved = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    with pytest.raises(CheckpointError, match="saved by a run of 1 process"):
        check_same_world(saved, dist_info_from_env(), tmp_path / "checkpoints" / "last.pt")
