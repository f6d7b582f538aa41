"""The precision of a training step: chosen by what the device computes natively, numerically sound in bf16 and
fp16, recorded in the checkpoint and config, and interchangeable on resume."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from training import precision as precision_module
from training.checkpoints import load_checkpoint
from training.config import make_config
from training.data.datasets import load_samples, make_batch
from training.data.nih import NIHIndex
from training.pix2pix_trainer import Pix2PixTrainer
from training.precision import PrecisionError, cpu_bf16_flags, eager_fp32, fast_path, resolve_precision
from training.runner import train
from training.stargan_trainer import StarGANTrainer

CPU = torch.device("cpu")
L1_CURVE_TOLERANCE = 0.08
"""bf16's L1 curve may differ from fp32's by at most this fraction of fp32's, window by window (50 steps each).
Measured: at most 2.2% (fp32 channels-last + fused Adam differs from eager fp32 by as much: 2.4%)."""


@pytest.fixture
def cpu_with_bf16(monkeypatch):
    """This CPU taken for one with AMX/AVX-512-BF16 (bf16 autocast runs on any CPU, emulated where it lacks them)."""
    monkeypatch.setattr(precision_module, "cpu_native_bf16", lambda: (True, "treated as bf16-capable by the test"))


@pytest.fixture
def cpu_without_bf16(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_native_bf16", lambda: (False, "CPU has neither AMX-BF16 nor ..."))


def _fixed_batch(phantom_dir, size, count=4):
    index = NIHIndex.load(phantom_dir)
    samples, _ = load_samples(phantom_dir, index.boxes[:count], size)
    return make_batch(samples, np.arange(count), seed=0, step=0, augment=None)


def _pix2pix_l1_curve(phantom_dir, precision, steps):
    torch.manual_seed(0)
    config = make_config("pix2pix", str(phantom_dir), "unused", profile="quick", image_size=32, ngf=8, ndf=8)
    trainer = Pix2PixTrainer(config, CPU, precision=precision)
    y, m, domain = _fixed_batch(phantom_dir, 32)
    return np.array([float(trainer.step(y, m, domain, step)["loss_l1"]) for step in range(steps)])


def test_bf16_and_fp32_l1_curves_agree_over_three_hundred_steps(phantom_dir):
    fp32 = _pix2pix_l1_curve(phantom_dir, eager_fp32(CPU), 300)
    bf16 = _pix2pix_l1_curve(phantom_dir, fast_path("bf16", CPU), 300)
    fp32_windows, bf16_windows = fp32.reshape(6, 50).mean(axis=1), bf16.reshape(6, 50).mean(axis=1)
    assert fp32_windows[-1] < 0.5 * fp32_windows[0]  # the run learns at all, so agreement means something
    relative = np.abs(bf16_windows - fp32_windows) / fp32_windows
    assert relative.max() < L1_CURVE_TOLERANCE, (fp32_windows, bf16_windows)


@pytest.mark.parametrize("name", ["fp32", "bf16", "fp16"])
def test_box_keeps_the_real_pixels_in_every_precision(phantom_dir, name):
    torch.manual_seed(0)
    config = make_config("pix2pix", str(phantom_dir), "unused", profile="quick", image_size=32, ngf=8, ndf=8)
    trainer = Pix2PixTrainer(config, CPU, precision=fast_path(name, CPU))
    y, m, domain = _fixed_batch(phantom_dir, 32)
    for step in range(3):  # trained weights, not just the initial ones
        trainer.step(y, m, domain, step)
    _, fake = trainer.generate(trainer.precision.layout(y), trainer.precision.layout(m))
    inside = m > 0.5
    assert fake.dtype == torch.float32
    assert torch.equal(fake[inside], y[inside])
    assert not torch.equal(fake[~inside], y[~inside])


def test_fp16_steps_scale_the_loss_and_stay_finite(phantom_dir):
    torch.manual_seed(0)
    config = make_config("stargan", str(phantom_dir), "unused", profile="quick", image_size=32, conv_dim=8,
                         res_blocks=1, n_critic=1)
    trainer = StarGANTrainer(config, CPU, precision=fast_path("fp16", CPU))
    y, m, _ = _fixed_batch(phantom_dir, 32)
    losses = [trainer.step(y, m, torch.tensor([1, 2, 3, 0]), step) for step in range(3)]
    assert all(torch.isfinite(v) for row in losses for v in row.values())
    assert trainer.state()["scaler"]["scale"] > 0  # a GradScaler took part and its state goes into the checkpoint


def _tiny(kind, data, out, iters, precision):
    return make_config(kind, str(data), str(out), profile="quick", device="cpu", iters=iters, batch_size=2,
                       image_size=32, ngf=8, ndf=8, conv_dim=8, res_blocks=1, n_critic=2, log_every=1,
                       sample_every=100, checkpoint_every=100, healthy_pool=6, loader_workers=0, precision=precision)


@pytest.mark.parametrize(("kind", "first", "then"), [("pix2pix", "fp32", "bf16"), ("pix2pix", "bf16", "fp32"),
                                                     ("stargan", "bf16", "fp32")])
def test_a_checkpoint_resumes_in_the_other_precision(phantom_dir, tmp_path, cpu_with_bf16, kind, first, then):
    train(_tiny(kind, phantom_dir, tmp_path, 3, first), progress=False)
    saved = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert (saved["precision"]["name"], saved["config"]["precision"]) == (first, first)
    result = train(_tiny(kind, phantom_dir, tmp_path, 5, then), resume=True, progress=False)
    resumed = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert resumed["step"] == 5 and resumed["precision"]["name"] == then
    assert all(np.isfinite(value) for row in result.history for value in row.values())
    written = json.loads(Path(tmp_path / "config.json").read_text())
    assert written["precision_resolved"]["name"] == then


def test_auto_picks_bf16_on_a_bf16_cpu_and_logs_it(phantom_dir, tmp_path, cpu_with_bf16, caplog):
    caplog.set_level("INFO", logger="training.runner")
    train(_tiny("pix2pix", phantom_dir, tmp_path, 1, "auto"), progress=False)
    saved = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert saved["precision"]["name"] == "bf16" and saved["precision"]["requested"] == "auto"
    assert saved["precision"]["channels_last"] and saved["precision"]["fused_optimizer"]
    assert "precision: bf16 on cpu" in caplog.text


def test_stargan_keeps_the_contiguous_layout_on_the_cpu_where_it_was_measured_faster(cpu_with_bf16, monkeypatch):
    stargan = resolve_precision("auto", CPU, kind="stargan")
    assert (stargan.name, stargan.channels_last, stargan.fused_optimizer) == ("bf16", False, True)
    assert "stargan contiguous" in stargan.reason
    assert resolve_precision("bf16", CPU, kind="stargan").channels_last is False
    assert resolve_precision("auto", CPU, kind="pix2pix").channels_last is True
    monkeypatch.setattr(precision_module, "cuda_native_bf16", lambda device: (True, "H100 (sm_90) computes bf16"))
    assert resolve_precision("auto", torch.device("cuda", 0), kind="stargan").channels_last is True  # cuDNN's


def test_a_stargan_run_logs_and_stores_its_layout(phantom_dir, tmp_path, cpu_with_bf16, caplog):
    caplog.set_level("INFO", logger="training.runner")
    config = make_config("stargan", str(phantom_dir), str(tmp_path), profile="quick", image_size=32, conv_dim=8,
                         res_blocks=1, batch_size=2, iters=1, healthy_pool=6, loader_workers=0, device="cpu")
    train(config, progress=False)
    assert "precision: bf16 on cpu (contiguous, fused Adam" in caplog.text
    saved = load_checkpoint(tmp_path / "checkpoints" / "last.pt")["precision"]
    assert (saved["name"], saved["channels_last"]) == ("bf16", False)


def test_auto_is_fp32_on_a_cpu_without_bf16(cpu_without_bf16):
    chosen = resolve_precision("auto", CPU)
    assert chosen.name == "fp32" and chosen.channels_last and chosen.fused_optimizer


def test_bf16_asked_for_on_a_cpu_without_it_is_refused_not_run_in_fp32(phantom_dir, tmp_path, cpu_without_bf16):
    with pytest.raises(PrecisionError, match="--precision bf16: CPU has neither.*Use --precision fp32"):
        train(_tiny("pix2pix", phantom_dir, tmp_path, 1, "bf16"), progress=False)
    assert not (tmp_path / "checkpoints").exists()


def test_fp16_on_the_cpu_is_refused():
    with pytest.raises(PrecisionError, match="fp16 is for CUDA"):
        resolve_precision("fp16", CPU)


def test_a_gpu_without_native_bf16_gets_fp16_with_loss_scaling_and_refuses_bf16(monkeypatch):
    monkeypatch.setattr(precision_module, "cuda_native_bf16", lambda device: (False, "Tesla V100 (sm_70) only "
                                                                                     "emulates bf16"))
    gpu = torch.device("cuda", 0)
    chosen = resolve_precision("auto", gpu)
    assert (chosen.name, chosen.grad_scaling, chosen.channels_last) == ("fp16", True, True)
    with pytest.raises(PrecisionError, match="sm_70.*only emulates bf16.*--precision auto"):
        resolve_precision("bf16", gpu)
    assert resolve_precision("fp32", gpu).name == "fp32"


def test_a_gpu_with_native_bf16_gets_bf16_without_loss_scaling(monkeypatch):
    monkeypatch.setattr(precision_module, "cuda_native_bf16", lambda device: (True, "H100 (sm_90) computes bf16"))
    chosen = resolve_precision("auto", torch.device("cuda", 0))
    assert (chosen.name, chosen.grad_scaling) == ("bf16", False)


def test_cpu_bf16_flags_come_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile amx_bf16\n\n"
                       "processor\t: 1\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile amx_bf16\n")
    assert cpu_bf16_flags(cpuinfo) == ("amx_bf16", "avx512_bf16")
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2\n")
    assert cpu_bf16_flags(cpuinfo) == ()
    assert cpu_bf16_flags(tmp_path / "missing") == ()


def test_no_amp_still_means_fp32():
    config = make_config("pix2pix", "d", "o", profile="quick", amp=False)
    assert config.precision == "fp32"
