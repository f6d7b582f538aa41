"""Loading the three generators for a verification set and checking they belong together."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .errors import GenerationError

log = logging.getLogger(__name__)

GENERATOR_KINDS = ("pix2pix", "pix2pix-n", "stargan")


@dataclass(frozen=True)
class LoadedGenerator:
    kind: str
    path: Path
    model: nn.Module
    meta: dict  # config, step, seed, split, image_size, sha256 (training.inference.load_generator)
    healthy_pool: frozenset[str] = frozenset()  # the healthy images Pix2Pix-N / StarGAN trained on, if recorded
    guard: FiniteGuard | None = None

    @property
    def train_images(self) -> frozenset[str]:
        """Every image this generator saw in training: StarGAN's image-level training set where recorded, else its
        split's train side and its healthy pool."""
        if self.meta.get("train_images") is not None:
            return frozenset(self.meta["train_images"])
        return frozenset(self.meta["split"].get("train", [])) | self.healthy_pool


def parse_checkpoint_argument(text: str) -> dict[str, Path]:
    """``pix2pix=PATH,pix2pix-n=PATH,stargan=PATH`` -> {kind: Path}; every kind exactly once."""
    checkpoints: dict[str, Path] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        kind, sep, path = part.partition("=")
        kind = kind.strip().lower()
        if not sep or not path.strip():
            raise GenerationError(f"--checkpoints: expected KIND=PATH, got {part!r}")
        if kind not in GENERATOR_KINDS:
            raise GenerationError(f"--checkpoints: unknown generator {kind!r}; expected {', '.join(GENERATOR_KINDS)}")
        if kind in checkpoints:
            raise GenerationError(f"--checkpoints: {kind} given twice")
        checkpoints[kind] = Path(path.strip())
    return checkpoints


def load_generators(checkpoints: Mapping[str, Path], device: str,
                    expected_size: int | None = None) -> dict[str, LoadedGenerator]:
    """Load each generator, checking its kind matches the slot it was given for and that all share one image size.

    Every model gets a guard that raises :class:`GenerationError` the moment it produces a NaN or an infinity.
    """
    from training.checkpoints import CheckpointError
    from training.inference import load_generator

    missing = [kind for kind in GENERATOR_KINDS if kind not in checkpoints]
    if missing:
        raise GenerationError(f"missing checkpoint for {', '.join(missing)} (--checkpoints needs all of "
                              f"{', '.join(GENERATOR_KINDS)})")
    loaded: dict[str, LoadedGenerator] = {}
    for kind in GENERATOR_KINDS:
        path = Path(checkpoints[kind])
        if not path.is_file():
            raise GenerationError(f"checkpoint for {kind} not found: {path}")
        try:
            found_kind, model, meta = load_generator(path, device=device)
        except CheckpointError as error:
            raise GenerationError(f"checkpoint for {kind} is not usable: {error}") from None
        if found_kind != kind:
            raise GenerationError(f"checkpoint given for {kind} is a {found_kind} model: {path}")
        guard = FiniteGuard(kind, path)
        model.register_forward_hook(guard)
        loaded[kind] = LoadedGenerator(kind, path, model, meta, _healthy_pool(path), guard)
    sizes = {kind: generator.meta["image_size"] for kind, generator in loaded.items()}
    if len(set(sizes.values())) != 1:
        raise GenerationError(f"the generators work at different image sizes: {sizes}; train them at one size")
    size = next(iter(sizes.values()))
    if expected_size is not None and size != expected_size:
        raise GenerationError(f"the generators work at {size} px but {expected_size} px was asked for")
    return loaded


def _healthy_pool(path: Path) -> frozenset[str]:
    """Image names of the checkpoint's healthy pool (kept beside the split by the trainer), empty when absent."""
    from training.checkpoints import read_checkpoint_meta

    pool = read_checkpoint_meta(path).get("healthy_pool") or []
    return frozenset(entry["image"] if isinstance(entry, dict) else str(entry) for entry in pool)


def resolve_device(device: str) -> str:
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        log.warning("--device auto: no CUDA device is visible (torch.cuda.is_available() is False); "
                    "generating on the CPU")
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GenerationError(f"--device {device}: CUDA is not available on this machine")
    return device


class FiniteGuard:
    """Forward hook that notices a NaN or an infinity in a generator's output without making the host wait for the
    device: the check's one-element answer is copied to the host without blocking, queued before the caller's own
    copy of the output (which waits for the device anyway); :meth:`raise_if_tripped` reads it after that copy."""

    def __init__(self, kind: str, path: Path) -> None:
        self.kind, self.path = kind, path
        self._bad: list[torch.Tensor] = []

    def __call__(self, module: nn.Module, inputs, output) -> None:
        outputs = output if isinstance(output, tuple | list) else (output,)
        tensors = [t for t in outputs if isinstance(t, torch.Tensor)]
        if tensors:
            bad = torch.stack([~torch.isfinite(t).all() for t in tensors]).any()
            self._bad.append(bad.to("cpu", non_blocking=True))

    def raise_if_tripped(self) -> None:
        """Raise :class:`GenerationError` if any output since the last call was not finite (call it after the
        outputs reached the host, before anything is written)."""
        bad, self._bad = self._bad, []
        if any(bool(flag) for flag in bad):
            raise GenerationError(f"the {self.kind} generator produced NaN or infinite values ({self.path}); "
                                  "the checkpoint is broken or diverged, nothing was written")
