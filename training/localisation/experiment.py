"""The localisation experiment: train a Faster R-CNN under one protocol, evaluate CL on the test split as it trains.

One run = one protocol. Run directory:

* ``config.json``: the run's configuration plus what the data turned out to be (image and box counts);
* ``metrics.csv``: step, finding, cl, localised, total, false_positives, images at every evaluation;
* ``learning.csv`` and ``learning_curve.png``: the mean training loss since the previous evaluation, Total CL, the
  random-box baseline's Total CL (:mod:`training.localisation.baseline`) and the mean false positives per image;
* ``checkpoints/last.pt``: model, optimiser and RNG state, the resume point: written at an evaluation whose Total CL
  beats every earlier one, and at the last evaluation (a ResNet-50 checkpoint with SGD momentum is about 330 MB; 150
  fsynced writes would stall the loop), copied to the CPU and written by a background thread while training goes on;
  a resume continues from the step it holds (later metrics are recomputed);
* ``table2.csv``, ``table2.md``, ``curve.png`` at the end.

Optimiser: momentum SGD (0.9) at a constant learning rate 0.0003 with gradient clipping at norm 10, the settings of
the TensorFlow object-detection Faster R-CNN configuration the paper trained with; ``--optimizer adam`` is offered.
Predictions scored for CL: every box the detector outputs with a score at or above ``score_threshold`` (0.5 by default;
torchvision caps the output at 100 boxes per image).
"""
from __future__ import annotations

import json
import logging
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torchvision
from tqdm import tqdm

from training.checkpoints import FORMAT_VERSION, BackgroundCheckpointWriter, load_checkpoint
from training.data.nih import FINDINGS, SPLIT_MODES, NIHIndex, split_record
from training.localisation import table2
from training.localisation.baseline import random_box_baseline
from training.localisation.data import (
    DetectionImage,
    count_boxes,
    real_images,
    synthetic_images,
    synthetic_provenance,
    to_target,
    to_tensor,
)
from training.localisation.detector import BACKBONES, build_detector, finding_of_label
from training.localisation.metric import (
    CRITERIA,
    TOTAL,
    FindingScore,
    LabelledBox,
    correct_localisation,
    false_positives,
)
from training.localisation.protocols import get_protocol
from training.reproducibility import batch_indices, restore_rng_state, rng_state, seed_everything

log = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "adam")
# Settings a resumed run may change: where it runs or lies, how long it trains, what it reports. Everything else
# fixes the training trajectory and must match the checkpoint.
_RESUMABLE_DIFFERENCES = {"out", "device", "progress", "steps", "eval_every", "report_steps", "window_half_width"}


class DivergedError(ValueError):
    """The training loss stopped being a finite number."""


@dataclass(frozen=True)
class LocalisationConfig:
    data: str
    out: str
    protocol: str = "ori"
    synthetic: str | None = None
    synthetic_source: str | None = None  # manifest source to take; default: the protocol's generator
    synthetic_count: int = 688
    steps: int = table2.DEFAULT_STEPS  # 15,500: the last window [14,500, 15,500] complete
    eval_every: int = 100
    report_steps: tuple[int, ...] = table2.DEFAULT_REPORT_STEPS
    window_half_width: int = table2.DEFAULT_HALF_WIDTH
    backbone: str = "resnet50_fpn"
    backbone_weights: str | None = None
    image_size: int = 256
    batch_size: int = 2
    optimizer: str = "sgd"
    lr: float = 3e-4
    momentum: float = 0.9
    clip_grad_norm: float = 10.0
    criterion: str = "iou"
    threshold: float = 0.1
    score_threshold: float = 0.5
    eval_images: int | None = None  # evaluate on the first N test images only (tests, quick looks)
    eval_batch_size: int = 4
    split_by: str = "annotation"
    split_seed: int = 0
    test_fraction: float = 0.3
    seed: int = 0
    device: str = "auto"
    findings: tuple[str, ...] = FINDINGS
    progress: bool = True

    def validate(self) -> None:
        """Every mistake that can be seen before loading data is reported here, before any work."""
        protocol = get_protocol(self.protocol)
        if protocol.synthetic_source and not self.synthetic:
            raise ValueError(f"protocol {protocol.name} adds synthetic images: give the batch with --synthetic")
        if not protocol.synthetic_source and self.synthetic:
            raise ValueError("protocol ori trains on real images only: drop --synthetic or choose ori+pix2pix[-n]")
        if protocol.synthetic_source and self.synthetic_count < 1:
            raise ValueError(f"--synthetic-count must be at least 1, got {self.synthetic_count}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONES)}")
        if self.criterion not in CRITERIA:
            raise ValueError(f"unknown overlap criterion {self.criterion!r}; choose one of {', '.join(CRITERIA)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.split_by not in SPLIT_MODES:
            raise ValueError(f"--split-by must be one of {', '.join(SPLIT_MODES)}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda asked for, but CUDA is not available here")
        if self.batch_size < 1 or self.image_size < 32 or not 0 < self.threshold <= 1:
            raise ValueError("batch size must be >= 1, image size >= 32 and the threshold in (0, 1]")
        if self.eval_images is not None and self.eval_images < 1:
            raise ValueError(f"--eval-images must be at least 1, got {self.eval_images}")
        table2.check_schedule(self.steps, self.eval_every, self.report_steps, self.window_half_width)

    @property
    def source(self) -> str | None:
        return self.synthetic_source or get_protocol(self.protocol).synthetic_source

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            if torch.cuda.is_available():
                return torch.device("cuda")
            log.warning("--device auto: no CUDA device is visible (torch.cuda.is_available() is False); "
                        "training the detector on the CPU")
            return torch.device("cpu")
        return torch.device(self.device)

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict) -> LocalisationConfig:
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)


@dataclass
class RunData:
    train: list[DetectionImage]
    test: list[DetectionImage]
    split: dict[str, list[str]]
    counts: dict = field(default_factory=dict)
    split_record: dict = field(default_factory=dict)


def load_run_data(config: LocalisationConfig) -> RunData:
    index = NIHIndex.load(Path(config.data))
    split = index.split(seed=config.split_seed, test_fraction=config.test_fraction, by=config.split_by)
    if not split.train or not split.test:
        raise ValueError(
            f"{config.data}: the split leaves {len(split.train)} training and {len(split.test)} test boxes"
        )
    size, findings = config.image_size, config.findings
    record = split_record(split, config.split_seed, config.test_fraction, config.split_by)
    train = real_images(Path(config.data), split.train, size, findings, config.progress)
    real_train = len(train)
    if config.source:
        check_synthetic_split(Path(config.synthetic), record)
        train += synthetic_images(Path(config.synthetic), config.source, config.synthetic_count, config.seed, size,
                                  findings, config.progress)
    # An image with boxes on both sides (possible in the by-annotation split) is trained on in ori already.
    test_only = {b.image for b in split.test} - {b.image for b in split.train}
    leaked = [i for i in train[real_train:] if i.origin_image in test_only]
    if leaked:
        raise ValueError(
            f"{len(leaked)} synthetic image(s) stem from test-split images (first: {leaked[0].name} from "
            f"{leaked[0].origin_image}); their box is the real test lesion, so the test would be seen in training. "
            "Generate the synthetic set from training-split boxes (python -m training localisation-synthetic)"
        )
    test = real_images(Path(config.data), split.test, size, findings, config.progress, limit=config.eval_images)
    counts = {
        "train_real_images": real_train,
        "train_real_boxes": count_boxes(train[:real_train]),
        "train_synthetic_images": len(train) - real_train,
        "test_images": len(test),
        "test_boxes": count_boxes(test),
    }
    return RunData(train, test, split.image_names(), counts, record)


def check_synthetic_split(path: Path, record: dict) -> None:
    """Refuse a synthetic set whose generator was trained, or whose boxes were drawn, on another split than this run's.

    The set's ``provenance.json`` (written by ``localisation-synthetic``) records the split it was made for; a set
    without one (a batch made elsewhere) is checked by the leakage guard only.
    """
    made_for = synthetic_provenance(path).get("split_record")
    if made_for and made_for.get("boxes_sha256") != record["boxes_sha256"]:
        raise ValueError(
            f"synthetic set {path} was made for another split (seed {made_for.get('seed')}, by {made_for.get('by')}, "
            f"box list {str(made_for.get('boxes_sha256'))[:12]}) than this run's (seed {record['seed']}, by "
            f"{record['by']}, box list {record['boxes_sha256'][:12]}): make it again with this run's --split-seed, "
            "--split-by and --test-fraction, from a generator trained on this split")


def predictions_of(output: dict[str, torch.Tensor], findings: Sequence[str], score_threshold: float
                   ) -> list[LabelledBox]:
    keep = output["scores"] >= score_threshold
    boxes, labels = output["boxes"][keep].tolist(), output["labels"][keep].tolist()
    return [LabelledBox(finding_of_label(findings, label), *box) for box, label in zip(boxes, labels, strict=True)]


@dataclass(frozen=True)
class Evaluation:
    scores: dict[str, FindingScore]
    false_positives: dict[str, int]
    images: int
    baseline: dict[str, float | None]  # the random-box baseline's CL with as many boxes as the detector placed

    @property
    def fp_per_image(self) -> float:
        return self.false_positives[TOTAL] / self.images if self.images else 0.0


@torch.no_grad()
def predict(model: torch.nn.Module, images: Sequence[DetectionImage], config: LocalisationConfig,
            device: torch.device) -> list[list[LabelledBox]]:
    """The boxes ``model`` outputs at or above the score threshold (the model is left in training mode)."""
    model.eval()
    predictions: list[list[LabelledBox]] = []
    for start in range(0, len(images), config.eval_batch_size):
        chunk = images[start:start + config.eval_batch_size]
        outputs = model([to_tensor(i.pixels).to(device) for i in chunk])
        predictions += [predictions_of(o, config.findings, config.score_threshold) for o in outputs]
    model.train()
    return predictions


def evaluate(model: torch.nn.Module, images: Sequence[DetectionImage], config: LocalisationConfig,
             device: torch.device) -> dict[str, FindingScore]:
    """CL per finding and Total of ``model`` on ``images`` (the model is left in training mode)."""
    predictions = predict(model, images, config, device)
    truths = [list(i.boxes) for i in images]
    return correct_localisation(truths, predictions, config.findings, config.criterion, config.threshold)


def evaluate_fully(model: torch.nn.Module, test: Sequence[DetectionImage], train: Sequence[DetectionImage],
                   config: LocalisationConfig, device: torch.device) -> Evaluation:
    """CL, false positives and the random-box baseline (box sizes from ``train``'s boxes) of ``model`` on ``test``."""
    predictions = predict(model, test, config, device)
    truths = [list(i.boxes) for i in test]
    training_boxes: dict[str, list[LabelledBox]] = {}
    for image in train:
        for box in image.boxes:
            training_boxes.setdefault(box.finding, []).append(box)
    return Evaluation(
        scores=correct_localisation(truths, predictions, config.findings, config.criterion, config.threshold),
        false_positives=false_positives(truths, predictions, config.findings, config.criterion, config.threshold),
        images=len(test),
        baseline=random_box_baseline(truths, predictions, training_boxes, config.image_size, config.findings,
                                     config.criterion, config.threshold, seed=config.seed),
    )


def make_optimizer(model: torch.nn.Module, config: LocalisationConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    return torch.optim.Adam(model.parameters(), lr=config.lr)


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor on ``device``; to CUDA from pinned memory without blocking (a copy from pageable memory makes
    the host wait for the GPU's queue first)."""
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: Sequence[DetectionImage],
               config: LocalisationConfig, device: torch.device) -> torch.Tensor:
    """One optimiser step on ``batch``; returns the summed loss, detached and left on the device (reading it would
    make the host wait for the GPU every step: the loop reads the losses once per evaluation, see
    :func:`check_finite_loss`)."""
    images = [_to_device(to_tensor(i.pixels), device) for i in batch]
    targets = [{k: _to_device(v, device) for k, v in to_target(i, config.findings).items()} for i in batch]
    loss = sum(model(images, targets).values())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.clip_grad_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad_norm)
    optimizer.step()
    return loss.detach()


def check_finite_loss(mean_loss: float, first_step: int, last_step: int) -> None:
    if not np.isfinite(mean_loss):
        raise DivergedError(f"the detector's loss became {mean_loss} between steps {first_step} and {last_step} "
                            "(try a lower --lr)")


def _same_run(saved: dict, config: LocalisationConfig, path: Path) -> None:
    current = config.to_json()
    differing = sorted(k for k in current if k not in _RESUMABLE_DIFFERENCES and saved.get(k) != current[k])
    if differing:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current[k]!r}" for k in differing)
        raise ValueError(f"{path} belongs to a run with other settings ({details}); resume with the same ones")


def run_experiment(config: LocalisationConfig, resume: bool = False) -> table2.Table2:
    """Train and evaluate as configured; write the run directory; return this run's Table 2."""
    config.validate()
    out = Path(config.out)
    checkpoint_path = out / "checkpoints" / "last.pt"
    if not resume and (out / "config.json").exists():
        raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if resume and not checkpoint_path.exists():
        raise ValueError(f"--resume: no checkpoint at {checkpoint_path}")
    checkpoint = None
    if resume:
        checkpoint = load_checkpoint(checkpoint_path, expected_kind="detector")
        _same_run(checkpoint["config"], config, checkpoint_path)
    device = config.resolved_device()
    seed_everything(config.seed)
    data = load_run_data(config)
    model = build_detector(config.findings, config.backbone, config.image_size,
                           Path(config.backbone_weights) if config.backbone_weights else None).to(device)
    optimizer = make_optimizer(model, config)
    start = 0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        restore_rng_state(checkpoint["rng"], device)
        start = int(checkpoint["step"])
        table2.truncate_metrics(out / "metrics.csv", start)
        _truncate_learning(out / "learning.csv", start)
        log.info("resuming %s from step %d", out, start)
    else:
        (out / "checkpoints").mkdir(parents=True, exist_ok=True)
        (out / "metrics.csv").unlink(missing_ok=True)
        (out / "learning.csv").unlink(missing_ok=True)
    _write_config(out, config, data, device)

    evaluations = set(table2.evaluation_steps(config.steps, config.eval_every))
    last_evaluation = max(evaluations) if evaluations else None
    best_total = checkpoint.get("best_total_cl") if checkpoint is not None else None
    model.train()
    loss_sum: torch.Tensor | None = None  # on the device: read once per evaluation, not per step
    summed_from = start + 1
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, desc=f"localisation {config.protocol}",
               unit="step", disable=not config.progress)
    with BackgroundCheckpointWriter() as writer:
        for step in bar:
            order = batch_indices(n=len(data.train), batch_size=config.batch_size, step=step, seed=config.seed,
                                  stream=None)
            chosen = [data.train[i] for i in order]
            loss = train_step(model, optimizer, chosen, config, device)
            loss_sum = loss if loss_sum is None else loss_sum + loss
            done = step + 1
            if done not in evaluations:
                continue
            mean_loss = loss_sum.item() / (done - summed_from + 1)
            check_finite_loss(mean_loss, summed_from, done)
            result = evaluate_fully(model, data.test, data.train, config, device)
            table2.append_metrics(out / "metrics.csv", done, result.scores, result.false_positives, result.images)
            append_learning(out / "learning.csv", done, mean_loss, result)
            loss_sum, summed_from = None, done + 1
            total = result.scores[TOTAL].cl
            improved = total is not None and (best_total is None or total > best_total)
            if improved:
                best_total = total
            if improved or done == last_evaluation:
                writer.submit(checkpoint_path, _checkpoint(model, optimizer, config, data, done, device, best_total))
            bar.set_postfix(loss=f"{mean_loss:.3f}", cl=f"{total:.3f}" if total is not None else "-",
                            best=f"{best_total:.3f}" if best_total is not None else "-")
    bar.close()
    plot_learning(out / "learning.csv", out / "learning_curve.png", f"{config.protocol}, {config.backbone}")
    return table2.write_report([table2.load_run(out)], out)


LEARNING_FIELDS = ("step", "loss", "cl", "baseline_cl", "fp_per_image")


def append_learning(path: Path, step: int, loss: float, result: Evaluation) -> None:
    """One line per evaluation: mean loss since the previous one, Total CL, the random-box baseline, FP per image."""
    import csv

    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(LEARNING_FIELDS)
        cl, baseline = result.scores[TOTAL].cl, result.baseline[TOTAL]
        writer.writerow([step, f"{loss:.6g}", "" if cl is None else f"{cl:.6g}",
                         "" if baseline is None else f"{baseline:.6g}", f"{result.fp_per_image:.6g}"])


def _truncate_learning(path: Path, after_step: int) -> None:
    if path.exists():
        lines = path.read_text().splitlines(keepends=True)
        kept = lines[:1] + [line for line in lines[1:] if int(line.split(",", 1)[0]) <= after_step]
        path.write_text("".join(kept))


def read_learning(path: Path) -> list[dict[str, float | None]]:
    import csv

    with path.open(newline="") as handle:
        return [{k: float(v) if v else None for k, v in row.items()} for row in csv.DictReader(handle)]


def plot_learning(csv_path: Path, png_path: Path, title: str) -> None:
    """Loss (left) and Total CL against the random-box baseline (right) over the training steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not csv_path.exists():
        return
    rows = read_learning(csv_path)
    steps = [r["step"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(steps, [r["loss"] for r in rows], marker="o")
    left.set_xlabel("training step")
    left.set_ylabel("training loss (mean since the previous evaluation)")
    right.plot(steps, [r["cl"] for r in rows], marker="o", label="detector")
    right.plot(steps, [r["baseline_cl"] for r in rows], linestyle="--", label="random boxes (same count)")
    right.set_xlabel("training step")
    right.set_ylabel("Total CL on the test split")
    right.set_ylim(0, 1)
    right.legend()
    for axis in (left, right):
        axis.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    tmp = png_path.with_name(png_path.stem + ".tmp" + png_path.suffix)
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(png_path)


def _checkpoint(model: torch.nn.Module, optimizer: torch.optim.Optimizer, config: LocalisationConfig,
                data: RunData, step: int, device: torch.device, best_total_cl: float | None = None) -> dict:
    return {
        "kind": "detector",
        "format_version": FORMAT_VERSION,
        "config": config.to_json(),
        "step": step,
        "seed": config.seed,
        "split": data.split,
        "split_record": data.split_record,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": rng_state(device),
        "findings": list(config.findings),
        "backbone": config.backbone,
        "image_size": config.image_size,
        "best_total_cl": best_total_cl,
    }


def _write_config(out: Path, config: LocalisationConfig, data: RunData, device: torch.device) -> None:
    record = {
        **config.to_json(),
        "data_counts": data.counts,
        "resolved_device": str(device),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "torchvision": torchvision.__version__},
    }
    tmp = out / "config.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(out / "config.json")
