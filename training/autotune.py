"""``--precision auto`` on the CPU: a short timed probe picks the fastest way to run this model on this machine.

What is fastest on a CPU depends on the CPU and on what else runs on it, and was measured to go both ways: bf16 on an
AVX-512-BF16 CPU paid 1.3-1.9x over fp32 at batch 1 in one run and 0.92-0.96x in another; on a 2-core machine shared
with other work, one thread ran a paper-width Pix2Pix step about twice as fast as two (OpenMP's threads wait for each
other when the scheduler takes one away); and the memory layout went both ways for Pix2Pix (channels-last faster on
one AVX-512-BF16 CPU; on another, at batch 1 and one thread, contiguous took 1.26 s a step against 1.44 s in fp32 and
0.76 s against 0.87 s in bf16, as channels-last weights cost a layout copy of every gradient and a clone in fused
Adam). So the candidates (fp32 + fused Adam in both layouts, with one thread and with PyTorch's default; bf16 too where
the CPU computes it natively) each run real training steps of the run's own model, batch and image size on random
tensors, interleaved so a load swing hits all of them, and the fastest is taken; the figures are logged and kept in
the run's ``config.json`` (``precision_resolved``).

Small images skip the probe (``PROBE_MIN_IMAGE_SIZE``): their steps take milliseconds, the choice would be noise, and
tests and the demo keep PyTorch's default threads.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import torch

from training.config import TrainConfig
from training.distributed import DistInfo
from training.precision import Precision, cpu_native_bf16, fast_path
from training.thread_governor import ThreadGovernor

log = logging.getLogger(__name__)

PROBE_MIN_IMAGE_SIZE = 128
PROBE_ROUNDS = 3


def cpu_candidates(default: Precision) -> list[Precision]:
    """The ways to run on this CPU: ``default`` (what ``resolve_precision`` chose) and the other memory layout
    (channels-last or contiguous: which is faster depends on the CPU and the model, and was measured both ways for
    Pix2Pix), each with PyTorch's threads and with one thread, plus the same in fp32 when the default is bf16 (and
    in bf16 where the CPU computes it natively and the default is fp32)."""
    names = [default.name]
    native, _ = cpu_native_bf16()
    if native:
        names.append("fp32" if default.name == "bf16" else "bf16")
    default_threads = torch.get_num_threads()
    thread_choices = [default_threads] + ([1] if default_threads > 1 else [])
    return [fast_path(name, torch.device("cpu"), default.requested, default.reason, channels_last=layout,
                      threads=threads)
            for name in names for layout in (default.channels_last, not default.channels_last)
            for threads in thread_choices]


def _random_batch(config: TrainConfig, device: torch.device):
    generator = torch.Generator().manual_seed(0)
    size, batch = config.image_size, config.batch_size
    y = torch.rand(batch, 1, size, size, generator=generator) * 2 - 1
    m = torch.zeros(batch, 1, size, size)
    m[:, :, size // 4:size // 2, size // 4:size // 2] = 1
    return y.to(device), m.to(device), torch.randint(0, 7, (batch,), generator=generator).to(device)


def probe(config: TrainConfig, device: torch.device, candidates: list[Precision], make_trainer,
          rounds: int = PROBE_ROUNDS) -> tuple[Precision, list[dict]]:
    """The candidate whose step is fastest (best of ``rounds`` interleaved timed steps after a warm-up each), and
    every candidate's figures. ``make_trainer(precision)`` builds the run's trainer in that precision; candidates that
    differ only in their thread count share one trainer (threads change no arithmetic), so the probe holds one model
    per precision and layout. Global RNG state is used by the probe's steps: call it before the run seeds itself."""
    previous_threads = torch.get_num_threads()
    batch = _random_batch(config, device)
    trainers: dict[Precision, object] = {}
    try:
        for candidate in candidates:
            torch.set_num_threads(candidate.threads or previous_threads)
            key = replace(candidate, threads=0)
            if key not in trainers:
                trainers[key] = make_trainer(candidate)
                trainers[key].train_mode(True)
            trainers[key].step(*batch, step=0)  # warm-up: allocations, oneDNN's kernel choice for these threads
        seconds: list[list[float]] = [[] for _ in candidates]
        for round_ in range(rounds):
            for index, candidate in enumerate(candidates):
                torch.set_num_threads(candidate.threads or previous_threads)
                trainer = trainers[replace(candidate, threads=0)]
                started = time.perf_counter()
                trainer.step(*batch, step=1 + round_)
                seconds[index].append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous_threads)
    figures = [{"precision": c.name, "channels_last": c.channels_last, "threads": c.threads or previous_threads,
                "step_seconds": min(s)} for c, s in zip(candidates, seconds, strict=True)]
    best = min(range(len(candidates)), key=lambda i: figures[i]["step_seconds"])
    summary = ", ".join(f"{f['precision']} {_layout(f)} {f['threads']} thread(s) {f['step_seconds']:.3f} s"
                        for f in figures)
    chosen = replace(candidates[best], reason=f"{candidates[best].reason}; timed probe, fastest of: {summary}")
    return chosen, figures


def _layout(figure: dict) -> str:
    return "channels-last" if figure["channels_last"] else "contiguous"


def autotune_cpu(config: TrainConfig, device: torch.device, default: Precision, make_trainer) -> Precision:
    """``default`` unless this is an ``auto`` run on the CPU at a size worth probing; then the probe's pick (logged)."""
    if config.precision != "auto" or device.type != "cpu" or config.image_size < PROBE_MIN_IMAGE_SIZE:
        return default
    candidates = cpu_candidates(default)
    if len(candidates) == 1:
        return default
    chosen, figures = probe(config, device, candidates, make_trainer)
    log.info("--precision auto: timed probe on this CPU: %s; chose %s %s with %d thread(s)",
             ", ".join(f"{f['precision']}/{_layout(f)}/{f['threads']}t {f['step_seconds']:.3f} s/step"
                       for f in figures),
             chosen.name, "channels-last" if chosen.channels_last else "contiguous",
             chosen.threads or torch.get_num_threads())
    return chosen


def thread_governor(config: TrainConfig, device: torch.device, precision: Precision, dist_info: DistInfo,
                    default_threads: int) -> ThreadGovernor | None:
    """For the runs the probe settles (``auto`` on the CPU at a size worth probing, one process), a governor that
    keeps them on the faster of PyTorch's default thread count and one thread as the load changes
    (``training.thread_governor``); None for every other run."""
    if (config.precision != "auto" or device.type != "cpu" or config.image_size < PROBE_MIN_IMAGE_SIZE
            or dist_info.enabled or default_threads < 2):
        return None
    return ThreadGovernor(choices=(default_threads, 1), current=precision.threads or default_threads)
