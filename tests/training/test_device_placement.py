"""Where tensors are made, checked without a GPU: steps on ``device="meta"`` (shapes and devices, no data: a tensor
made on the host shows up as a CPU tensor), recorded calls for what only CUDA does (binding a process to its GPU before
the process group, step times without a wait per step), and a checkpoint written on a GPU read without one."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from torch.utils._python_dispatch import TorchDispatchMode

from training import runner, timing
from training.checkpoints import FORMAT_VERSION, read_checkpoint_meta, save_checkpoint
from training.config import make_config
from training.distributed import DistInfo, init_process_group
from training.inference import load_generator
from training.models.factory import build_generator
from training.pix2pix_trainer import Pix2PixTrainer
from training.stargan_trainer import StarGANTrainer

META = torch.device("meta")
CPU = torch.device("cpu")


class MadeTensors(TorchDispatchMode):
    """Every operation run inside, with the device and size of each tensor it made."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[tuple[str, str, int]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in out if isinstance(out, tuple | list) else [out]:
            if isinstance(tensor, torch.Tensor):
                self.made.append((str(func), tensor.device.type, tensor.numel()))
        return out

    def on_the_host(self) -> list[tuple[str, str, int]]:
        """Host tensors beyond single numbers (PyTorch keeps Adam's step counters, 0-d, on the CPU by design)."""
        return [made for made in self.made if made[1] == "cpu" and made[2] > 1]


def _batch_on(device: torch.device, batch: int = 4, size: int = 32):
    y = torch.empty(batch, 1, size, size, device=device)
    m = torch.empty(batch, 1, size, size, device=device)
    return y, m, torch.zeros(batch, dtype=torch.int64, device=device)


def _stargan(device: torch.device) -> StarGANTrainer:
    config = make_config("stargan", "unused", "unused", profile="quick", image_size=32, conv_dim=8, res_blocks=1,
                         n_critic=1, batch_size=4, precision="fp32")
    return StarGANTrainer(config, device)


@pytest.fixture
def meta_generators(monkeypatch):
    """The meta device has no random generator of its own: a CPU one stands in (meta kernels make no numbers; what
    is checked is where the draws are made)."""
    real = torch.Generator

    def generator(device=None):
        return real() if device is not None and torch.device(device).type == "meta" else real(device=device)

    monkeypatch.setattr(torch, "Generator", generator)


def test_a_pix2pix_step_makes_its_networks_and_every_tensor_on_the_configured_device():
    config = make_config("pix2pix", "unused", "unused", profile="quick", image_size=32, ngf=8, ndf=8,
                         precision="fp32")
    trainer = Pix2PixTrainer(config, META)
    networks = [*trainer.generator.parameters(), *trainer.discriminator.parameters()]
    assert {parameter.device for parameter in networks} == {META}
    with MadeTensors() as made:
        losses = trainer.step(*_batch_on(META), step=0)
    assert {loss.device for loss in losses.values()} == {META}
    assert made.on_the_host() == []
    moments = [v for opt in (trainer.opt_g, trainer.opt_d) for s in opt.state.values() for v in s.values()
               if v.dim() > 0]
    assert moments and {moment.device for moment in moments} == {META}


def test_stargan_draws_target_domains_on_the_device_without_a_host_copy(meta_generators):
    trainer = _stargan(META)
    assert {p.device for p in [*trainer.generator.parameters(), *trainer.discriminator.parameters()]} == {META}
    with MadeTensors() as made:
        target, alpha = trainer.draws(step=3, rank_batch=4)
    assert (target.device, alpha.device) == (META, META)
    assert {device for _, device, _ in made.made} == {"meta"}
    assert not [op for op, _, _ in made.made if "copy" in op]  # no tensor made elsewhere and moved here
    with MadeTensors() as made:
        losses = trainer.step(*_batch_on(META), step=0)  # n_critic 1: the critic and the generator update
    assert {loss.device for loss in losses.values()} == {META} and "loss_g" in losses
    assert made.on_the_host() == []


def test_each_process_binds_to_its_gpu_before_it_joins_the_process_group(monkeypatch):
    """Recorded through stand-ins: ``set_device(cuda:LOCAL_RANK)`` comes first, so NCCL's set-up and every implicit
    CUDA operation land on the process's own card, not on GPU 0."""
    calls: list[tuple] = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: calls.append(("set_device", device)))
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda **options: calls.append(("init_process_group", options)))
    gpu = torch.device("cuda", 1)
    init_process_group(DistInfo(rank=3, world=4, local_rank=1), gpu)
    assert calls == [("set_device", gpu), ("init_process_group", {"backend": "nccl", "device_id": gpu})]
    calls.clear()
    init_process_group(DistInfo(rank=1, world=2), CPU)
    assert calls == [("init_process_group", {"backend": "gloo"})]


def test_every_loop_iteration_is_timed_without_waiting_for_the_device(monkeypatch, phantom_dir, tmp_path):
    waited: list[torch.device] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: waited.append(device))
    timing.synchronize(torch.device("cuda", 1))
    timing.synchronize(CPU)  # nothing to wait for on the CPU
    assert waited == [torch.device("cuda", 1)]

    config = make_config("pix2pix", str(phantom_dir), str(tmp_path), profile="quick", image_size=32, ngf=8, ndf=8,
                         batch_size=2, iters=3, device="cpu", loader_workers=0, precision="fp32")
    result = runner.train(config, progress=False)
    assert len(result.step_seconds) == 3 and all(s > 0 for s in result.step_seconds)
    assert waited == [torch.device("cuda", 1)]  # (tests/training/test_host_syncs.py counts every read per step)


def test_a_checkpoint_written_on_a_gpu_loads_on_a_machine_without_one(tmp_path, monkeypatch):
    """What ``bench/bench_generation.py``, ``python -m generation`` and the demo load through: every read maps the
    tensors to the CPU first (``torch.load`` alone would try to put them back on the GPU they were saved from)."""
    config = {"kind": "pix2pix", "image_size": 32, "ngf": 8}
    path = tmp_path / "gpu.pt"
    with monkeypatch.context() as gpu_run:  # torch.save tags each tensor's storage with its device, as a GPU run does
        gpu_run.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        save_checkpoint(path, {"kind": "pix2pix", "format_version": FORMAT_VERSION, "config": config, "step": 3,
                               "seed": 0, "split": {"train": ["a.png"], "test": []},
                               "model": build_generator(config).state_dict()})
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    kind, model, meta = load_generator(path)
    assert kind == "pix2pix" and meta["step"] == 3 == read_checkpoint_meta(path)["step"]
    assert {parameter.device for parameter in model.parameters()} == {CPU}
