"""What a first GPU run needs, checked on the CPU: device choice, backends, the steps' gradient bookkeeping."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from training.checkpoints import load_checkpoint, read_checkpoint_meta, save_checkpoint
from training.config import make_config
from training.distributed import DistInfo, device_for
from training.pix2pix_trainer import Pix2PixTrainer
from training.precision import configure_math, math_settings, set_tf32
from training.stargan_trainer import StarGANTrainer

CPU = torch.device("cpu")


def _batch(size: int = 32, batch: int = 4):
    generator = torch.Generator().manual_seed(0)
    y = torch.rand(batch, 1, size, size, generator=generator) * 2 - 1
    m = torch.zeros(batch, 1, size, size)
    m[:, :, 8:20, 10:22] = 1
    return y, m, torch.tensor([1, 0, 3, 0])[:batch]


def test_device_auto_without_a_gpu_says_it_falls_back_to_the_cpu(caplog):
    with caplog.at_level(logging.WARNING):
        assert device_for("auto", DistInfo(), cuda_available=False) == CPU
    assert "--device auto: no CUDA device is visible" in caplog.text and "running on the CPU" in caplog.text


def test_under_torchrun_each_process_takes_the_gpu_of_its_local_rank():
    assert device_for("cuda", DistInfo(rank=5, world=8, local_rank=1), cuda_available=True) == torch.device("cuda", 1)
    assert device_for("auto", DistInfo(rank=2, world=4, local_rank=2), cuda_available=True) == torch.device("cuda", 2)
    assert device_for("cuda:1", DistInfo(), cuda_available=True) == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="under torchrun each process uses GPU LOCAL_RANK"):
        device_for("cuda:1", DistInfo(rank=0, world=2), cuda_available=True)
    with pytest.raises(ValueError, match="no CUDA device is available"):
        device_for("cuda", DistInfo(), cuda_available=False)


def test_two_processes_share_one_gpu_only_when_asked_and_gloo_is_chosen_by_environment(monkeypatch):
    from training.distributed import process_group_backend

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    second = DistInfo(rank=1, world=2, local_rank=1)
    with pytest.raises(ValueError, match="only 1 GPU"):
        device_for("cuda", second, cuda_available=True)
    monkeypatch.setenv("TRAINING_SHARE_GPU", "1")
    assert device_for("cuda", second, cuda_available=True) == torch.device("cuda", 0)
    assert process_group_backend(torch.device("cuda", 0)) == "nccl" and process_group_backend(CPU) == "gloo"
    monkeypatch.setenv("TRAINING_DIST_BACKEND", "gloo")
    assert process_group_backend(torch.device("cuda", 0)) == "gloo"
    monkeypatch.setenv("TRAINING_DIST_BACKEND", "mpi")
    with pytest.raises(ValueError, match="expected nccl or gloo"):
        process_group_backend(torch.device("cuda", 0))


@pytest.fixture
def restored_math_flags():
    """TF32 and cuDNN flags are process-wide: put them back as they were."""
    matmul, conv, benchmark = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
                               torch.backends.cudnn.benchmark)
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, conv
    torch.backends.cudnn.benchmark = benchmark


def test_cudnn_benchmark_and_tf32_are_on_for_cuda_runs_only(restored_math_flags):
    set_tf32(False)
    torch.backends.cudnn.benchmark = False
    assert configure_math(CPU) == math_settings()
    assert math_settings().to_dict() == {"tf32_matmul": False, "tf32_conv": False, "cudnn_benchmark": False}
    settings = configure_math(torch.device("cuda", 0))  # sets flags only: no CUDA call
    assert settings.to_dict() == {"tf32_matmul": True, "tf32_conv": True, "cudnn_benchmark": True}


def test_after_tf32_is_set_both_the_old_and_the_new_api_read_it(restored_math_flags):
    """Setting TF32 through the new ``fp32_precision`` API made every read of the old one raise RuntimeError ("mix
    of the legacy and new APIs"), and torch.compile's inductor reads the old one (``kernel/bmm.py``)."""
    configure_math(torch.device("cuda", 0))
    assert torch.get_float32_matmul_precision() == "high"
    assert torch.backends.cuda.matmul.allow_tf32 is True and torch.backends.cudnn.allow_tf32 is True
    assert torch.backends.cuda.matmul.fp32_precision == "tf32" and torch.backends.cudnn.conv.fp32_precision == "tf32"
    set_tf32(False)
    assert torch.get_float32_matmul_precision() == "highest" and not math_settings().tf32_matmul


def _stargan(n_critic: int = 5) -> StarGANTrainer:
    config = make_config("stargan", "unused", "unused", profile="quick", image_size=32, conv_dim=8, res_blocks=1,
                         n_critic=n_critic, batch_size=4, precision="fp32")
    return StarGANTrainer(config, CPU)


def test_the_critic_step_generates_its_fakes_without_a_graph():
    trainer = _stargan(n_critic=5)
    outputs: list[bool] = []
    trainer.generator.register_forward_hook(lambda module, inputs, output: outputs.append(output.requires_grad))
    trainer.step(*_batch(), step=0)  # a critic-only step (the generator updates every fifth)
    assert outputs == [False]
    trainer.step(*_batch(), step=4)  # critic, then generator: the generator's own step keeps its graph
    assert outputs == [False, False, True, True]


def test_stargan_draws_are_on_the_trainer_device_and_a_function_of_the_step_and_global_slot():
    trainer = _stargan()
    target, alpha = trainer.draws(step=7, rank_batch=4)
    assert target.device == trainer.device and alpha.device == trainer.device
    again, _ = trainer.draws(step=7, rank_batch=4)
    assert torch.equal(target, again) and not torch.equal(target, trainer.draws(step=8, rank_batch=4)[0])
    second_rank = _stargan()
    second_rank.dist = DistInfo(rank=1, world=2)
    half_target, half_alpha = second_rank.draws(step=7, rank_batch=2)
    assert torch.equal(half_target, target[2:]) and torch.equal(half_alpha, alpha[2:])


def test_the_pix2pix_generator_step_computes_no_discriminator_gradient():
    config = make_config("pix2pix", "unused", "unused", profile="quick", image_size=32, ngf=8, ndf=8,
                         precision="fp32")
    trainer = Pix2PixTrainer(config, CPU)
    computed = {"discriminator": 0, "generator": 0}
    for name, network in (("discriminator", trainer.discriminator), ("generator", trainer.generator)):
        for parameter in network.parameters():
            parameter.register_hook(lambda grad, name=name: computed.__setitem__(name, computed[name] + 1))
    trainer.step(*_batch(), step=0)
    assert computed == {"discriminator": len(list(trainer.discriminator.parameters())),
                        "generator": len(list(trainer.generator.parameters()))}


def _big_checkpoint(path: Path) -> Path:
    return save_checkpoint(path, {"kind": "pix2pix", "format_version": 1, "config": {"image_size": 32}, "step": 7,
                                  "seed": 0, "split": {"train": ["a.png"], "test": []},
                                  "model": {"weight": torch.ones(48 * 2**20 // 4)}})


def test_checkpoint_metadata_is_read_without_reading_the_weights(tmp_path):
    """Resident memory grows by far less than the 48 MB of weights when only the metadata is taken."""
    path = _big_checkpoint(tmp_path / "big.pt")
    script = textwrap.dedent(f"""
        import sys
        from training.checkpoints import load_checkpoint, read_checkpoint_meta

        def rss_mb():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024

        before = rss_mb()
        if sys.argv[1] == "meta":
            kept = read_checkpoint_meta({str(path)!r})
        else:
            kept = load_checkpoint({str(path)!r})
        assert kept["step"] == 7 and kept["config"]["image_size"] == 32
        print(rss_mb() - before)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    grown = {mode: float(subprocess.run([sys.executable, "-c", script, mode], env=env, capture_output=True, text=True,
                                        check=True).stdout) for mode in ("meta", "full")}
    assert grown["meta"] < 12 < 40 < grown["full"], grown
    assert read_checkpoint_meta(path)["step"] == load_checkpoint(path)["step"]


def test_python_m_generation_uses_the_gpu_by_default_when_there_is_one():
    from generation.cli import build_parser

    args = build_parser().parse_args(["verification-set", "--data", "d", "--checkpoints", "x", "--out", "o.zip"])
    assert args.device == "auto"


def test_generation_on_device_auto_without_a_gpu_says_it_uses_the_cpu(caplog):
    from generation.generators import resolve_device

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    with caplog.at_level(logging.WARNING):
        assert resolve_device("auto") == "cpu"
    assert "no CUDA device is visible" in caplog.text and "generating on the CPU" in caplog.text
