"""Batch assembly off the training thread: a map-style dataset indexed by step, read by a DataLoader's workers.

Item ``step`` of :class:`StepBatches` is this process's slice of global batch ``step``: its sample indices come from
``batch_indices`` and each sample's augmentation from a generator seeded by (seed, step, global slot), so a batch is a
function of (seed, step, rank, world) alone. The loader reads steps ``start .. stop - 1`` in order with worker
processes (pinned memory when the batches go to a GPU); a resumed run starts it at the saved step and gets the very
batches the uninterrupted run got, whatever the number of workers.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from training.data.augment import AugmentSettings
from training.data.datasets import SampleSet, make_batch
from training.reproducibility import GENERATOR_BATCH_STREAM, batch_indices

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class StepBatches(Dataset):
    """``dataset[step]`` = (y, m, domain) of this rank's ``rank_batch`` samples of global batch ``step``."""

    def __init__(self, samples: SampleSet, rank_batch: int, seed: int, augment: AugmentSettings | None,
                 rank: int = 0, world: int = 1) -> None:
        self.samples, self.rank_batch, self.seed, self.augment = samples, rank_batch, seed, augment
        self.rank, self.world = rank, world

    def __getitem__(self, step: int) -> Batch:
        indices = batch_indices(n=len(self.samples), batch_size=self.rank_batch, step=step, seed=self.seed,
                                stream=GENERATOR_BATCH_STREAM, rank=self.rank, world=self.world)
        return make_batch(self.samples, indices, self.seed, step, self.augment,
                          first_slot=self.rank * self.rank_batch)


def step_loader(batches: StepBatches, start: int, stop: int, workers: int, pin_memory: bool) -> DataLoader:
    """Steps ``start`` to ``stop - 1`` of ``batches``, assembled by ``workers`` processes (0: on this thread).

    The loader's own seed comes from a generator of its own, so starting it leaves the global torch RNG (dropout,
    everything the step draws) exactly where it was; the batches do not use it either way.
    """
    return DataLoader(batches, batch_size=None, sampler=range(start, stop), num_workers=workers,
                      pin_memory=pin_memory, prefetch_factor=4 if workers else None,
                      generator=torch.Generator().manual_seed(batches.seed))
