"""The training loop shared by Pix2Pix, Pix2Pix-N and StarGAN: data, resume, logging, samples and checkpoints.

Run folder (``--out``)::

    config.json              the run's TrainConfig, plus ``precision_resolved`` (what ``--precision`` became here)
    losses.csv               step and every loss, one row each ``log_every`` steps
    loss_curve.png           the losses against the step
    samples/step_0000500.png sample grids (input | output | target for Pix2Pix; input | six findings for StarGAN)
    checkpoints/last.pt      written atomically every ``checkpoint_every`` steps and at the end

A checkpoint holds the networks, optimisers, every process's RNG states (torch, numpy, python; CUDA where used), the
world size, the step (a batch is a function of seed and step, so that is the data loader's position), the split and
the loss history: ``--resume`` continues from it and, on the CPU, produces bit-for-bit the losses the uninterrupted run
would have; a resume with another number of processes is refused. Batches are assembled by DataLoader worker
processes (``training.data.loader``), pinned on CUDA. Under torchrun only rank 0 writes files and reports.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from training.autotune import autotune_cpu, thread_governor
from training.checkpoints import FORMAT_VERSION, CheckpointError, load_checkpoint, read_checkpoint_meta, save_checkpoint
from training.config import TrainConfig
from training.data.augment import AugmentSettings
from training.data.datasets import SampleSet, load_samples, make_batch
from training.data.healthy import healthy_pool
from training.data.loader import StepBatches, step_loader
from training.data.nih import BoxAnnotation, DataError, NIHIndex, Split, split_record
from training.data.stargan_data import (
    STARGAN_DATA_TITLES,
    label_counts,
    load_labelled_samples,
    stargan_training_images,
)
from training.distributed import (
    DistInfo,
    average_losses,
    check_batch_divides,
    cleanup,
    device_for,
    dist_info_from_env,
    gather_objects,
    init_process_group,
)
from training.pix2pix_trainer import Pix2PixTrainer
from training.precision import Precision, apply_threads, configure_math, resolve_precision
from training.reproducibility import restore_rng_state, rng_state, seed_everything
from training.stargan_trainer import StarGANTrainer
from training.timing import StepTimer

log = logging.getLogger(__name__)

SAMPLE_ROWS = 4
RESUME_MAY_CHANGE = frozenset({"iters", "device", "out", "data", "log_every", "sample_every", "checkpoint_every",
                               "amp", "profile", "skip_bad", "loader_workers", "precision"})
"""Config fields a resumed run may change; any other difference is refused (it would not be the same run)."""
LEGACY_DEFAULTS = {"stargan_data": "boxes", "lr_decay_iters": 0}
"""What a checkpoint written before a setting existed ran with: StarGAN trained box-only and without LR decay."""


@dataclass
class RunData:
    split: Split
    train: SampleSet
    preview: SampleSet
    healthy: list[BoxAnnotation] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    train_images: list[str] | None = None  # StarGAN's image-level training set (None: the split and healthy pool)
    label_counts: dict | None = None


@dataclass
class RunResult:
    out: Path
    step: int
    history: list[dict]
    checkpoint: Path
    skipped: dict
    step_seconds: list[float] = field(default_factory=list)
    """Time of each loop iteration of this process (waiting for the batch, step, logging; not samples or
    checkpoints): CUDA events on a GPU, read only when the loop logs (no wait per step); the wall clock elsewhere."""
    is_main: bool = True
    """False on every torchrun process but rank 0 (which alone writes and reports)."""
    thread_moves: list[dict] = field(default_factory=list)
    """``auto`` CPU runs: each change of thread count the load called for (``training.thread_governor``)."""


def resolve_device(name: str, dist_info: DistInfo = DistInfo()) -> torch.device:
    return device_for(name, dist_info, torch.cuda.is_available())


def prepare_data(config: TrainConfig) -> RunData:
    """The split, the training samples (plus the healthy pool for Pix2Pix-N and StarGAN) and the preview samples."""
    data_dir = Path(config.data)
    index = NIHIndex.load(data_dir, skip_bad=config.skip_bad)
    if not index.boxes:
        raise DataError(f"{data_dir}: no box of the six findings in the box list")
    split = index.split(seed=config.seed, test_fraction=config.test_fraction, by=config.split_by)
    skipped = Counter(index.skipped)
    train, lost = load_samples(data_dir, split.train, config.image_size, config.skip_bad)
    skipped.update(lost)
    if config.kind == "stargan" and config.stargan_data == "images":
        return _stargan_image_data(config, index, split, skipped)
    healthy: list[BoxAnnotation] = []
    if config.kind in ("pix2pix-n", "stargan"):
        healthy = healthy_pool(index, config.healthy_pool, config.seed)
        healthy_samples, lost = load_samples(data_dir, healthy, config.image_size, config.skip_bad)
        skipped.update({f"healthy_{k}": v for k, v in lost.items()})
        train = SampleSet.concat(train, healthy_samples)
        if config.kind == "stargan":
            preview = SampleSet(healthy_samples.images[:SAMPLE_ROWS], healthy_samples.boxes[:SAMPLE_ROWS],
                                healthy_samples.domains[:SAMPLE_ROWS], healthy_samples.annotations[:SAMPLE_ROWS])
            return RunData(split, train, preview, healthy, skipped)
    try:
        preview, _ = load_samples(data_dir, split.test[:SAMPLE_ROWS], config.image_size, skip_bad=True)
    except DataError:  # no usable test image (none, or all skipped): preview training pairs instead
        rows = min(SAMPLE_ROWS, len(train))
        preview = SampleSet(train.images[:rows], train.boxes[:rows], train.domains[:rows], train.annotations[:rows])
    return RunData(split, train, preview, healthy, skipped)


def _stargan_image_data(config: TrainConfig, index: NIHIndex, split: Split, skipped: Counter) -> RunData:
    """StarGAN the authors' way: every image-level labelled image of the patients not held out (training.data.
    stargan_data); the preview rows are its first healthy images."""
    images = stargan_training_images(index, config.seed, config.stargan_holdout)
    train, lost = load_labelled_samples(index, images, config.image_size, config.skip_bad)
    skipped.update(lost)
    healthy_rows = [i for i, vector in enumerate(train.domains) if vector[0] == 1][:SAMPLE_ROWS] or list(
        range(min(SAMPLE_ROWS, len(train))))
    rows = np.asarray(healthy_rows)
    preview = SampleSet(train.images[rows], train.boxes[rows], train.domains[rows],
                        [train.annotations[i] for i in healthy_rows])
    kept = [a.image for a in train.annotations]
    counts = label_counts(index, kept)
    log.info("StarGAN image-level training set: %d images, labels %s, %d multi-label", counts["images"],
             counts["per_label"], counts["multi_label_images"])
    return RunData(split, train, preview, [], skipped, train_images=kept, label_counts=counts)


def _trainer(config: TrainConfig, device: torch.device, dist_info: DistInfo, precision: Precision | None = None):
    if config.kind == "stargan":
        return StarGANTrainer(config, device, dist_info, precision)
    return Pix2PixTrainer(config, device, dist_info, precision)


def _resolved_precision(config: TrainConfig, device: torch.device, dist_info: DistInfo, resume: bool) -> Precision:
    """What ``--precision`` becomes here. ``auto`` on the CPU is settled by a timed probe (training.autotune); a
    resumed ``auto`` run keeps the choice its checkpoint recorded on the same kind of device (the same arithmetic
    as the steps before it)."""
    default = resolve_precision(config.precision, device, kind=config.kind)
    if resume and config.precision == "auto":
        saved = read_checkpoint_meta(Path(config.out) / "checkpoints" / "last.pt").get("precision") or {}
        if saved.get("device_type") == device.type and saved.get("requested") == "auto":
            return Precision(**saved)
    if dist_info.enabled:
        return default
    return autotune_cpu(config, device, default, lambda candidate: _trainer(config, device, dist_info, candidate))


def check_resumable(saved: dict, config: TrainConfig, path: Path) -> None:
    """Refuse a resume that would not continue the same run. A setting an older checkpoint lacks counts as its
    default (the value that run used)."""
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    if config.kind == "stargan":
        defaults.update(LEGACY_DEFAULTS)
    differing = sorted(k for k, v in config.to_dict().items()
                       if k not in RESUME_MAY_CHANGE and saved.get(k, defaults.get(k)) != v)
    if differing:
        details = ", ".join(f"{k}: checkpoint {saved.get(k, defaults.get(k))!r} vs now {getattr(config, k)!r}"
                            for k in differing)
        raise CheckpointError(f"{path}: cannot resume with different settings ({details})")


def check_same_world(saved: dict, dist_info: DistInfo, path: Path) -> None:
    """A run resumes with the number of processes it was saved with: each process restores its own RNG state, and
    with batch norm each process's share of the batch fixes what the statistics are taken over."""
    saved_world = int(saved.get("world_size", 1))
    if saved_world != dist_info.world:
        raise CheckpointError(
            f"{path}: saved by a run of {saved_world} process(es), resumed with {dist_info.world}; resume with the "
            f"same number (torchrun --nproc_per_node={saved_world}, or a plain run for 1), or start a new run")


def restore_own_rng_state(saved: dict, dist_info: DistInfo, device: torch.device) -> None:
    """Each process restores the RNG state it saved (dropout and everything else it draws continue its own stream)."""
    states = saved.get("rng_per_rank") or [saved["rng"]]
    restore_rng_state(states[dist_info.rank], device)


def write_losses_csv(path: Path, history: list[dict]) -> None:
    columns = ["step"] + sorted({key for row in history for key in row} - {"step"})
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)
    temporary.replace(path)


def plot_losses(path: Path, history: list[dict], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    if not history:
        return
    names = sorted({key for row in history for key in row} - {"step"})
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    for name in names:
        points = [(row["step"], row[name]) for row in history if row.get(name) not in (None, "")]
        if points:
            axes.plot(*zip(*points, strict=True), label=name, linewidth=1)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_yscale("symlog", linthresh=1.0)
    axes.set_title(title)
    axes.legend(fontsize=7, ncols=2)
    figure.tight_layout()
    temporary = path.with_name(path.name + ".tmp.png")
    figure.savefig(temporary)
    plt.close(figure)
    temporary.replace(path)


def _annotations(boxes: list[BoxAnnotation]) -> list[dict]:
    return [{"image": b.image, "finding": b.finding, "x": b.x, "y": b.y, "w": b.w, "h": b.h} for b in boxes]


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> RunResult:
    """Train ``config.kind`` for ``config.iters`` steps (continuing from ``out/checkpoints/last.pt`` if ``resume``).

    Under torchrun (WORLD_SIZE > 1) this process binds to its GPU, joins the process group and trains its share of
    every global batch of ``config.batch_size``.
    """
    dist_info = dist_info_from_env()
    device = resolve_device(config.device, dist_info)
    rank_batch = check_batch_divides(config.batch_size, dist_info)
    init_process_group(dist_info, device)
    try:
        return _train(config, resume, progress, dist_info, device, rank_batch)
    finally:
        cleanup()


def _train(config: TrainConfig, resume: bool, progress: bool, dist_info: DistInfo, device: torch.device,
           rank_batch: int) -> RunResult:
    math = configure_math(device)
    default_threads = torch.get_num_threads()
    precision = _resolved_precision(config, device, dist_info, resume)
    apply_threads(precision)
    governor = thread_governor(config, device, precision, dist_info, default_threads)
    if dist_info.is_main:
        log.info("precision: %s; math: %s", precision.describe(), math.to_dict())
    out = Path(config.out)
    checkpoint_path = out / "checkpoints" / "last.pt"
    seed_everything(config.seed + dist_info.rank)
    data = prepare_data(config)
    trainer = _trainer(config, device, dist_info, precision)
    start, history = 0, []
    if resume:
        saved = load_checkpoint(checkpoint_path, expected_kind=config.kind)
        check_resumable(saved["config"], config, checkpoint_path)
        check_same_world(saved, dist_info, checkpoint_path)
        trainer.load_state(saved)
        restore_own_rng_state(saved, dist_info, device)
        start, history = int(saved["step"]), list(saved["history"])
        del saved
        log.info("resuming %s from step %d of %s", config.kind, start, checkpoint_path)
    if dist_info.is_main:
        (out / "samples").mkdir(parents=True, exist_ok=True)
        run_config = {**config.to_dict(), "precision_resolved": precision.to_dict()}
        (out / "config.json").write_text(json.dumps(run_config, indent=2) + "\n", encoding="utf-8")
    augment = (AugmentSettings(config.max_rotation_deg, config.max_crop_zoom) if config.augment else None)
    preview = make_batch(data.preview, np.arange(len(data.preview)), config.seed, 0, None)
    preview = tuple(t.to(device) for t in preview)

    def save(step: int, rng_per_rank: list) -> None:
        payload = {
            "kind": config.kind, "format_version": FORMAT_VERSION, "config": config.to_dict(), "step": step,
            "seed": config.seed, "split": data.split.image_names(),
            "split_record": split_record(data.split, config.seed, config.test_fraction, config.split_by),
            "split_annotations": {"train": _annotations(data.split.train), "test": _annotations(data.split.test)},
            "healthy_pool": _annotations(data.healthy), "data_position": step * config.batch_size,
            **({"training_data": STARGAN_DATA_TITLES[config.stargan_data]} if config.kind == "stargan" else {}),
            **({"train_images": data.train_images, "label_counts": data.label_counts}
               if data.train_images is not None else {}),
            "world_size": dist_info.world, "image_size": config.image_size, "precision": precision.to_dict(),
            "rng": rng_per_rank[0],
            "rng_per_rank": rng_per_rank, "history": history, "skipped": dict(data.skipped), **trainer.state(),
        }
        save_checkpoint(checkpoint_path, payload)
        write_losses_csv(out / "losses.csv", history)
        plot_losses(out / "loss_curve.png", history, f"{config.kind} ({config.profile} profile)")

    trainer.train_mode(True)
    bar = tqdm(range(start, config.iters), initial=start, total=config.iters, desc=config.kind,
               disable=not (progress and dist_info.is_main), dynamic_ncols=True)
    batches = StepBatches(data.train, rank_batch, config.seed, augment, dist_info.rank, dist_info.world)
    loader = step_loader(batches, start, config.iters, config.loader_workers, pin_memory=device.type == "cuda")
    timer = StepTimer(device)
    timer.start()
    for step, batch in zip(bar, loader, strict=True):
        y, m, domain = (t.to(device, non_blocking=True) for t in batch)
        losses = trainer.step(y, m, domain, step)  # losses stay on the device until a log step reads them
        done = step + 1
        logged = done % config.log_every == 0 or done == config.iters
        if logged:
            averaged = average_losses(losses, dist_info)
            names = sorted(averaged)
            values = torch.stack([averaged[k].float() for k in names]).tolist() if names else []  # one read
            row = {"step": done, **dict(zip(names, values, strict=True))}
            history.append(row)
            bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k != "step"}, refresh=False)
        timer.lap()
        if governor is not None:
            governor.observe(done, timer.seconds[-1])
        if logged:
            timer.flush()
        sampled = dist_info.is_main and (done % config.sample_every == 0 or done == config.iters)
        if sampled:
            grid = trainer.sample_grid(*preview)
            Image.fromarray(grid).save(out / "samples" / f"step_{done:07d}.png")
        checkpointed = done % config.checkpoint_every == 0 or done == config.iters
        if checkpointed:
            rng_per_rank = gather_objects(rng_state(device), dist_info)  # every process takes part
            if dist_info.is_main:
                save(done, rng_per_rank)
        if sampled or checkpointed:
            timer.start()  # samples and checkpoints are not part of a step's time
    if start >= config.iters and dist_info.is_main:
        log.info("checkpoint is already at step %d >= --iters %d; nothing to do", start, config.iters)
    if data.skipped:
        log.warning("skipped bad input during this run: %s", dict(data.skipped))
    return RunResult(out, max(start, config.iters), history, checkpoint_path, dict(data.skipped), timer.flush(),
                     dist_info.is_main, [] if governor is None else governor.moves)
