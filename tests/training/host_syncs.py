"""Counting the points where the host waits for a device value, on the CPU.

On CUDA every read of a tensor's value on the host (``.item()``, ``bool()``/``if tensor``, ``float()``, ``.tolist()``,
``.numpy()``/``.cpu()`` of a device tensor) and every ``synchronize`` makes the CPU wait until the GPU has run all it
was given: the CPU cannot queue the next step meanwhile. On the CPU those reads cost nothing, but they are the same
calls, so they can be counted here: ``aten._local_scalar_dense`` (what ``.item()``, ``bool()``, ``float()`` and
``int()`` dispatch to) through a dispatch mode, ``Tensor.tolist``/``Tensor.numpy`` and the device waits
(``training.timing.synchronize``, ``torch.cuda.synchronize``) through wrappers. Each read is attributed to the first
frame outside PyTorch: the project's own file and line, or ``torchvision`` for the detector library's internals.
"""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import training.timing

TORCH_DIR = str(Path(torch.__file__).parent) + "/"
HERE = __file__
REPO = str(Path(__file__).resolve().parents[2])


def _caller() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith(TORCH_DIR) or name == HERE or "/contextlib.py" in name):
            if "/torchvision/" in name:
                return "torchvision"
            if name.startswith(REPO):
                return f"{Path(name).relative_to(REPO)}:{frame.f_lineno}"
            return "other"
        frame = frame.f_back
    return "other"


class _ScalarReads(TorchDispatchMode):
    def __init__(self, counts: Counter) -> None:
        super().__init__()
        self.counts = counts

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.counts[_caller()] += 1
        return func(*args, **(kwargs or {}))


@contextmanager
def counting_host_syncs():
    """Yields a Counter {where: host reads and device waits} of everything run inside."""
    counts: Counter = Counter()
    monkeypatch = pytest.MonkeyPatch()

    def counted(original, label=None):
        def wrapper(*args, **kwargs):
            counts[label or _caller()] += 1
            return original(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(torch.Tensor, "tolist", counted(torch.Tensor.tolist))
    monkeypatch.setattr(torch.Tensor, "numpy", counted(torch.Tensor.numpy))
    monkeypatch.setattr(training.timing, "synchronize", counted(training.timing.synchronize, "synchronize"))
    monkeypatch.setattr(torch.cuda, "synchronize", counted(lambda device=None: None, "synchronize"))
    try:
        with _ScalarReads(counts):
            yield counts
    finally:
        monkeypatch.undo()


def project_reads(counts: Counter) -> int:
    return sum(n for where, n in counts.items() if where not in ("torchvision", "other"))
