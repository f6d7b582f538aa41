"""Reproducible training: seeding, saving and restoring the RNG states, and the batch order as a function of the step.

One module for the generators' runs (``training.runner``) and the detector's (``training.localisation.experiment``),
so a resumed run of either continues exactly where it stopped.
"""
from __future__ import annotations

import logging
import random

import numpy as np
import torch

log = logging.getLogger(__name__)

# The extra word in the generators' permutation seeds, [seed, epoch, 17] (the detector's are [seed, epoch]). Both are
# kept as they were: a run resumed from an older checkpoint must see the batches it would have seen.
GENERATOR_BATCH_STREAM = 17


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (torch's seeds every CUDA device too)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state(device: torch.device) -> dict:
    """The global generators' states: torch's CPU generator, Python's, numpy's (as plain lists, loadable with
    ``weights_only=True``) and, on CUDA, that of the one GPU this process uses: not of every visible GPU, so a run
    resumed where fewer GPUs are visible still finds its own."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": {"kind": kind, "keys": keys.tolist(), "pos": int(position), "has_gauss": int(has_gauss),
                       "cached": float(cached)}}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict, device: torch.device) -> None:
    """Restore what :func:`rng_state` saved.

    Older detector checkpoints hold only torch's state (restored alone) and a list with one CUDA state per GPU that
    was visible (this run's GPU takes the first). A GPU's state is restored only onto a GPU.
    """
    torch.set_rng_state(state["torch"])
    if "python" in state:
        random.setstate(_as_python_state(state["python"]))
    if "numpy" in state:
        n = state["numpy"]
        np.random.set_state((n["kind"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"],
                             n["cached"]))
    saved = state.get("cuda")
    if isinstance(saved, list | tuple):
        saved = saved[0] if saved else None
    if saved is None:
        return
    if device.type != "cuda":
        log.info("the checkpoint holds a GPU's RNG state; this run is on %s, so it is not restored", device)
        return
    torch.cuda.set_rng_state(saved, device)


def _as_python_state(saved) -> tuple:
    """``random.setstate`` wants tuples; a state that went through a serialiser may come back with lists."""
    version, internal, gauss = saved
    return version, tuple(internal), gauss


def batch_indices(*, n: int, batch_size: int, step: int, seed: int, stream: int | None, rank: int = 0,
                  world: int = 1) -> np.ndarray:
    """Sample indices of ``step``'s batch for process ``rank`` of ``world``: epochs are seeded permutations of the
    ``n`` samples (seed words ``[seed, epoch]`` plus ``stream`` where given), read in order without gaps, the
    processes' shares of one global batch side by side.

    A pure function of its arguments, so a resumed run needs no sampler state to draw the batches it would have.
    """
    if n < 1:
        raise ValueError("no training samples to draw a batch from")
    if batch_size < 1 or world < 1 or not 0 <= rank < world or step < 0:
        raise ValueError(f"batch_size {batch_size}, step {step}, rank {rank} of {world}: none can be drawn")
    start = (step * world + rank) * batch_size
    out = np.empty(batch_size, dtype=np.int64)
    filled = 0
    while filled < batch_size:
        epoch, offset = divmod(start + filled, n)
        take = min(batch_size - filled, n - offset)
        words = [seed, epoch] if stream is None else [seed, epoch, stream]
        out[filled:filled + take] = np.random.default_rng(words).permutation(n)[offset:offset + take]
        filled += take
    return out
