"""No hot loop makes the host wait for the device per step: the losses stay on the device until a log step (the
runner) or an evaluation (the detector), step times come from CUDA events read at log steps, and the detector's
checkpoint is written only when its figure improved (plus the last), by a background thread.

Counted on the CPU by :mod:`tests.training.host_syncs`: reads per step = (reads of a 2N-step run - reads of an
N-step run) / N, so the set-up, the final log, sample and checkpoint cancel out. Before this change: Pix2Pix 1 per
step (the runner's ``synchronize``), StarGAN 1 (+ 6 from ``F.one_hot``'s range check, CPU only), the detector 3
(``if not torch.isfinite(loss)`` and two ``.item()``).
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from tests.training.host_syncs import counting_host_syncs, project_reads
from training.checkpoints import BackgroundCheckpointWriter, CheckpointError, load_checkpoint
from training.config import make_config
from training.localisation import experiment
from training.localisation.metric import TOTAL, FindingScore
from training.runner import train
from training.timing import StepTimer


def _reads_per_step(run, steps: int) -> Counter:
    with counting_host_syncs() as short:
        run(steps)
    with counting_host_syncs() as long:
        run(2 * steps)
    per_step = Counter(long)
    per_step.subtract(short)
    return Counter({where: n / steps for where, n in per_step.items() if n})


@pytest.mark.parametrize("kind", ["pix2pix", "stargan"])
def test_the_training_loop_reads_nothing_from_the_device_between_log_steps(kind, phantom_dir, tmp_path):
    def run(iters: int) -> None:
        config = make_config(kind, str(phantom_dir), str(tmp_path / f"{iters}"), profile="quick", image_size=32,
                             ngf=8, ndf=8, conv_dim=8, res_blocks=1, batch_size=2, iters=iters, device="cpu",
                             loader_workers=0, precision="fp32", log_every=iters, sample_every=iters,
                             checkpoint_every=iters, healthy_pool=4, n_critic=2)
        train(config, progress=False)

    per_step = _reads_per_step(run, 4)
    assert project_reads(per_step) == 0, per_step


def test_the_detector_loop_reads_nothing_from_the_device_between_evaluations(phantom_dir, tmp_path):
    def run(steps: int) -> None:
        config = experiment.LocalisationConfig(
            data=str(phantom_dir), out=str(tmp_path / f"{steps}"), steps=steps, eval_every=steps,
            report_steps=(steps,), window_half_width=1, backbone="mobilenet_v3_large_fpn", image_size=64,
            eval_images=1, device="cpu", progress=False)
        experiment.run_experiment(config)

    per_step = _reads_per_step(run, 2)
    assert project_reads(per_step) == 0, per_step  # torchvision's Faster R-CNN reads some itself (RPN, RoI pooling)


def _scripted_totals(monkeypatch, totals: list[float]) -> None:
    """The detector's Total CL at successive evaluations, as given (what is tested is which get checkpointed)."""
    real = experiment.evaluate_fully
    remaining = list(totals)

    def evaluate(model, test, train_images, config, device):
        result = real(model, test, train_images, config, device)
        scores = {**result.scores, TOTAL: FindingScore(round(remaining.pop(0) * 10), 10)}
        return experiment.Evaluation(scores, result.false_positives, result.images, result.baseline)

    monkeypatch.setattr(experiment, "evaluate_fully", evaluate)


def test_the_detector_checkpoints_when_total_cl_improves_and_at_the_end(phantom_dir, tmp_path, monkeypatch):
    written: list[int] = []
    real_write = BackgroundCheckpointWriter._write
    monkeypatch.setattr(BackgroundCheckpointWriter, "_write",
                        lambda self, path, payload: (written.append(payload["step"]), real_write(self, path, payload)))
    _scripted_totals(monkeypatch, [0.2, 0.1, 0.3, 0.3, 0.1])
    config = experiment.LocalisationConfig(
        data=str(phantom_dir), out=str(tmp_path / "run"), steps=5, eval_every=1, report_steps=(5,),
        window_half_width=1, backbone="mobilenet_v3_large_fpn", image_size=64, eval_images=1, device="cpu",
        progress=False)
    experiment.run_experiment(config)
    assert written == [1, 3, 5]
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt", expected_kind="detector")
    assert saved["step"] == 5 and saved["best_total_cl"] == pytest.approx(0.3)


def test_a_background_checkpoint_holds_the_state_of_when_it_was_submitted(tmp_path):
    weight = torch.zeros(1000)
    payload = {"kind": "detector", "format_version": 1, "config": {}, "step": 1, "seed": 0, "split": {},
               "model": {"w": weight}}
    with BackgroundCheckpointWriter() as writer:
        writer.submit(tmp_path / "a.pt", payload)
        weight += 1  # training goes on while the thread writes
    assert torch.equal(load_checkpoint(tmp_path / "a.pt")["model"]["w"], torch.zeros(1000))
    with pytest.raises(CheckpointError, match="without"), BackgroundCheckpointWriter() as writer:
        writer.submit(tmp_path / "b.pt", {"kind": "detector"})  # the thread's error comes back to the loop


class _Event:
    """A stand-in CUDA event on a fake clock: records and waits are logged."""

    log: list[str] = []
    clock = 0.0

    def __init__(self, enable_timing: bool = False) -> None:
        self.at = None

    def record(self, stream=None) -> None:
        _Event.clock += 0.25
        self.at = _Event.clock
        _Event.log.append("record")

    def synchronize(self) -> None:
        _Event.log.append("wait")

    def elapsed_time(self, later: _Event) -> float:
        return (later.at - self.at) * 1000


def test_on_cuda_step_times_come_from_events_read_only_at_a_flush(monkeypatch):
    _Event.log.clear()
    monkeypatch.setattr(torch.cuda, "Event", _Event)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: None)
    timer = StepTimer(torch.device("cuda", 0))
    timer.start()
    for _ in range(3):
        timer.lap()
    assert _Event.log == ["record"] * 4  # no wait while the steps are queued
    assert timer.flush() == [0.25, 0.25, 0.25] and _Event.log[-1] == "wait"
    timer.lap()
    assert timer.flush() == [0.25] * 4 and _Event.log.count("wait") == 2
