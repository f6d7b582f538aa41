"""Building the 600-image verification set on the CPU against the bare generator forward passes, in one run.

Both sides use the same generators and the same inputs: the bare loop feeds the planned images (already loaded,
already batched) straight to the three networks with nothing else; the full build does everything (index, plan, image
reads, generation, box audit, SSIM/PSNR, final pipeline, PNG, zip). Target: full build >= 0.8 of the bare rate.

    .venv/bin/python bench/bench_generation.py [--profile quick|paper] [--workdir DIR] [--per-cell 25] [--threads 2]

``--profile quick`` (the demo's 64 px networks) uses the trained checkpoints in --workdir/runs (``manage.py demo``
writes them) when present; otherwise, and always for ``--profile paper`` (256 px, full-width networks), it saves
untrained generators of that profile's shape (timing does not depend on the weights' values).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KINDS = ("pix2pix", "pix2pix-n", "stargan")


def _checkpoints(workdir: Path, data_dir: Path, profile: str) -> dict[str, Path]:
    found = {kind: workdir / "runs" / kind / "checkpoints" / "last.pt" for kind in KINDS}
    if profile == "quick" and all(path.is_file() for path in found.values()):
        return found
    from training.checkpoints import FORMAT_VERSION, save_checkpoint
    from training.config import make_config
    from training.data.nih import NIHIndex
    from training.models.factory import build_generator

    split = NIHIndex.load(data_dir).split(seed=0).image_names()
    out = {}
    for kind in KINDS:
        config = make_config(kind, str(data_dir), str(workdir), profile=profile).to_dict()
        model = build_generator(config)
        out[kind] = save_checkpoint(workdir / f"bench-runs-{profile}" / f"{kind}.pt", {
            "kind": kind, "format_version": FORMAT_VERSION, "config": config, "step": 0, "seed": 0, "split": split,
            "model": model.state_dict()})
    return out


def _bare_seconds(config, repeats: int) -> tuple[float, int]:
    """Forward passes only, over the same planned inputs and batches the build uses."""
    from generation import verification as v
    from generation.generators import load_generators
    from generation.selection import SelectionInputs, plan_verification_set
    from training.compose import generator_input, masked_input, u8_to_unit
    from training.data.images import box_mask, load_xray_with_frame, scale_box
    from training.data.nih import FINDINGS, NIHIndex, image_path
    from training.inference import finding_domain

    generators = load_generators(config.checkpoints, "cpu")
    size = next(iter(generators.values())).meta["image_size"]
    index = NIHIndex.load(config.data_dir)
    plan = plan_verification_set(SelectionInputs(index.boxes, index.labels, index.healthy_images(),
                                                 {k: g.train_images for k, g in generators.items()}),
                                 FINDINGS, config.per_cell, config.seed)
    tensors = []
    for batch in v._batches(v._name_items(plan), config.batch_size):
        source = batch[0].plan.source
        if source == v.REAL:
            continue
        loaded = [load_xray_with_frame(image_path(index.data_dir, item.plan.origin_image), size) for item in batch]
        y = u8_to_unit(np.stack([image for image, _ in loaded]))[:, None]
        model = generators[v.KIND_OF_SOURCE[source]].model
        if source == v.STARGAN:
            domains = torch.tensor([finding_domain(item.plan.finding) for item in batch])
            tensors.append((model, (y, domains)))
        else:
            boxes = [scale_box(item.plan.box, frame, size) for item, (_, frame) in zip(batch, loaded, strict=True)]
            m = torch.from_numpy(np.stack([box_mask(size, box) for box in boxes]))[:, None]
            tensors.append((model, (generator_input(masked_input(y, m), m),)))
    best = float("inf")
    with torch.no_grad():
        for _ in range(repeats):
            started = time.perf_counter()
            for model, inputs in tensors:
                model(*inputs)
            best = min(best, time.perf_counter() - started)
    return best, len(plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("var/demo"))
    parser.add_argument("--per-cell", type=int, default=25)
    parser.add_argument("--profile", choices=["quick", "paper"], default="quick",
                        help="the generators' shape: the demo's (64 px) or the paper's (256 px)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from generation.verification import VerificationSetConfig, build_verification_set
    from training.data.phantom import make_phantom

    data_dir = args.workdir / "data"
    if not (data_dir / "BBox_List_2017.csv").is_file():
        make_phantom(data_dir, disease=600, healthy=400, size=256, seed=0)
    checkpoints = _checkpoints(args.workdir, data_dir, args.profile)
    with tempfile.TemporaryDirectory() as tmp:
        config = VerificationSetConfig(data_dir=data_dir, checkpoints=checkpoints, out=Path(tmp) / "set.zip",
                                       per_cell=args.per_cell, seed=0, device="cpu")
        bare_s, images = _bare_seconds(config, args.repeats)
        full_s = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            build_verification_set(VerificationSetConfig(**{**config.__dict__, "force": True}))
            full_s = min(full_s, time.perf_counter() - started)
    from training.checkpoints import read_checkpoint_meta

    size = read_checkpoint_meta(checkpoints["pix2pix"])["config"]["image_size"]
    generated = images * 3 // 4
    print(f"verification set: {images} images ({generated} generated) at {size} px, {args.threads} threads, "
          f"best of {args.repeats}")
    print(f"  bare generator forward passes: {bare_s:7.2f} s  {images / bare_s:8.1f} images/s (of the set)")
    print(f"  full build (zip on disk):      {full_s:7.2f} s  {images / full_s:8.1f} images/s")
    print(f"  ratio full / bare rate:        {bare_s / full_s:7.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
