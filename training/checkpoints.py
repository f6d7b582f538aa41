"""Checkpoints: one ``torch.save`` dict, written atomically, checked on load.

Every checkpoint carries at least ``kind``, ``format_version``, ``config`` (dict), ``step``, ``seed``, ``split``
(``{"train": [image names], "test": [image names]}``) and ``model`` (the generator's state_dict). Training checkpoints
add the discriminator, the optimisers, the RNG states and the loss history needed to resume bit-for-bit.
Loading uses ``weights_only=True``: only tensors and plain containers, no pickled code.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import torch

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
KINDS = ("pix2pix", "pix2pix-n", "stargan", "detector")
REQUIRED_KEYS = ("kind", "format_version", "config", "step", "seed", "split", "model")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used here; the message names the file."""


def save_checkpoint(path: Path, payload: dict) -> Path:
    """Write ``payload`` to ``path`` atomically: to ``path.tmp``, flushed to disk, then renamed over ``path``."""
    path = Path(path)
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"{path}: refusing to write a checkpoint without {missing}")
    if payload["kind"] not in KINDS:
        raise CheckpointError(f"{path}: unknown checkpoint kind {payload['kind']!r}; expected one of {KINDS}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def load_checkpoint(path: Path, expected_kind: str | Iterable[str] | None = None, mmap: bool = False) -> dict:
    """Read a checkpoint on the CPU and check its format and, if given, its kind (one name or several).

    ``mmap=True`` maps the file instead of reading it: a tensor's bytes are read from disk only when the tensor is
    used, so taking the metadata, or one network out of a training checkpoint, reads just that.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as error:  # noqa: BLE001 - torch raises many types for a bad file; all mean "not usable"
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(payload, dict) or "format_version" not in payload or "kind" not in payload:
        raise CheckpointError(f"{path}: not a checkpoint of this project (no kind/format_version)")
    version = payload["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {version} is newer than this code reads ({FORMAT_VERSION}); update the code"
        )
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {missing}")
    if expected_kind is not None:
        allowed = (expected_kind,) if isinstance(expected_kind, str) else tuple(expected_kind)
        if payload["kind"] not in allowed:
            raise CheckpointError(f"{path}: checkpoint is a {payload['kind']!r} model, expected {' or '.join(allowed)}")
    return payload


def read_checkpoint_meta(path: Path, expected_kind: str | Iterable[str] | None = None) -> dict:
    """A checkpoint's metadata (kind, config, step, split, healthy pool, ...) without reading its weights: the file
    is memory-mapped, and the tensors it holds stay on disk unless touched (a paper-width training checkpoint with
    both networks and both optimisers is hundreds of MB)."""
    return load_checkpoint(path, expected_kind, mmap=True)


def cpu_copy(value):
    """``value`` with every tensor copied to the CPU (a copy even of CPU tensors: the live ones keep training)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: cpu_copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(cpu_copy(item) for item in value)
    return value


class BackgroundCheckpointWriter:
    """Writes checkpoints without holding up the training loop: :meth:`submit` copies the payload's tensors to the
    CPU (the only part the loop waits for) and a thread writes it with :func:`save_checkpoint` (atomic, fsynced).
    One write at a time, in order: a submit waits for the previous write. :meth:`close` waits for the last one; a
    failed write is raised by the next submit or by close. Use it as a context manager so the last write is
    finished (or its error raised) before the run returns."""

    def __init__(self) -> None:
        self._thread = None
        self._error: BaseException | None = None
        self.written: list[Path] = []

    def _write(self, path: Path, payload: dict) -> None:
        try:
            self.written.append(save_checkpoint(path, payload))
        except BaseException as error:  # noqa: BLE001 - handed to the training thread at the next join
            self._error = error

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, path: Path, payload: dict) -> None:
        import threading

        self.join()
        snapshot = cpu_copy(payload)
        self._thread = threading.Thread(target=self._write, args=(Path(path), snapshot), name="checkpoint-writer",
                                        daemon=False)
        self._thread.start()

    def close(self) -> None:
        self.join()

    def __enter__(self) -> BackgroundCheckpointWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        if exc_info[0] is None:
            self.close()
        else:  # the run failed already: finish the write, keep the run's own error
            try:
                self.join()
            except Exception:  # noqa: BLE001
                log.exception("a checkpoint write failed while the run was failing")
