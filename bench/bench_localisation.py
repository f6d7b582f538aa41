"""Detector throughput on the CPU at 256x256: training steps/s (batch 2) and evaluation images/s, per backbone.

Runs the experiment's own pieces (phantom images decoded by the localisation data loader, ``train_step`` and
``evaluate``) on a small phantom set, after a warm-up. Prints one line per backbone and a JSON summary.

    .venv/bin/python bench/bench_localisation.py [--backbones resnet50_fpn,resnet18_fpn] [--steps 10] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.data.nih import FINDINGS, NIHIndex  # noqa: E402
from training.data.phantom import make_phantom  # noqa: E402
from training.localisation.data import real_images  # noqa: E402
from training.localisation.detector import build_detector  # noqa: E402
from training.localisation.experiment import (  # noqa: E402
    LocalisationConfig,
    evaluate,
    make_optimizer,
    train_step,
)


def bench_backbone(backbone: str, images: list, steps: int, eval_images: int, warmup: int) -> dict:
    config = LocalisationConfig(data="", out="", backbone=backbone, progress=False)
    device = torch.device("cpu")
    torch.manual_seed(0)
    model = build_detector(FINDINGS, backbone, 256).train()
    optimizer = make_optimizer(model, config)
    batches = [images[(2 * i) % len(images):(2 * i) % len(images) + 2] for i in range(warmup + steps)]
    for batch in batches[:warmup]:
        train_step(model, optimizer, batch, config, device)
    start = time.perf_counter()
    for batch in batches[warmup:]:
        train_step(model, optimizer, batch, config, device)
    train_seconds = time.perf_counter() - start
    evaluate(model, images[:config.eval_batch_size], config, device)  # warm-up
    test = (images * (eval_images // len(images) + 1))[:eval_images]
    start = time.perf_counter()
    evaluate(model, test, config, device)
    eval_seconds = time.perf_counter() - start
    return {
        "backbone": backbone,
        "parameters_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "train_steps_per_s": round(steps / train_seconds, 3),
        "train_images_per_s": round(2 * steps / train_seconds, 3),
        "eval_images_per_s": round(eval_images / eval_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default="resnet50_fpn,resnet18_fpn,mobilenet_v3_large_fpn")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--eval-images", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        make_phantom(data, disease=12, healthy=0, size=1024, seed=0)
        images = real_images(data, NIHIndex.load(data).boxes, 256, FINDINGS, progress=False)
    results = []
    for backbone in args.backbones.split(","):
        result = bench_backbone(backbone, images, args.steps, args.eval_images, args.warmup)
        results.append(result)
        print(f"{backbone:<24} {result['parameters_M']:>6}M params  train {result['train_steps_per_s']:.3f} steps/s "
              f"(batch 2)  eval {result['eval_images_per_s']:.2f} images/s", flush=True)
    print(json.dumps({"device": "cpu", "threads": args.threads, "load_average_1m": os.getloadavg()[0],
                      "image_size": 256, "batch_size": 2, "torch": torch.__version__,
                      "machine": platform.processor() or platform.machine(),
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
