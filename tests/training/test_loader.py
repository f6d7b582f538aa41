"""Batch assembly in DataLoader worker processes: the same batches as the training thread made, resumable by step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.data.augment import AugmentSettings
from training.data.datasets import SampleSet, load_samples, make_batch
from training.data.loader import StepBatches, step_loader
from training.data.nih import NIHIndex
from training.reproducibility import GENERATOR_BATCH_STREAM, batch_indices

AUGMENT = AugmentSettings()
SEED = 3


@pytest.fixture(scope="module")
def samples(phantom_dir) -> SampleSet:
    index = NIHIndex.load(phantom_dir)
    return load_samples(phantom_dir, index.boxes, 32)[0]


def _thread_batch(samples: SampleSet, step: int, batch: int) -> tuple[torch.Tensor, ...]:
    """What the loop assembled on its own thread before the loader: ``make_batch`` of ``batch_indices``."""
    indices = batch_indices(n=len(samples), batch_size=batch, step=step, seed=SEED, stream=GENERATOR_BATCH_STREAM)
    return make_batch(samples, indices, SEED, step, AUGMENT)


def _equal(first, second) -> bool:
    return all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_worker_processes_assemble_exactly_the_batches_the_training_thread_did(samples):
    loader = step_loader(StepBatches(samples, 4, SEED, AUGMENT), 0, 6, workers=2, pin_memory=False)
    batches = list(loader)
    assert len(batches) == 6
    assert all(_equal(batch, _thread_batch(samples, step, 4)) for step, batch in enumerate(batches))


def test_a_loader_started_at_a_saved_step_continues_with_the_same_batches(samples):
    straight = list(step_loader(StepBatches(samples, 4, SEED, AUGMENT), 0, 6, workers=2, pin_memory=False))
    resumed = list(step_loader(StepBatches(samples, 4, SEED, AUGMENT), 3, 6, workers=1, pin_memory=False))
    assert all(_equal(a, b) for a, b in zip(straight[3:], resumed, strict=True))


def test_starting_the_loader_leaves_the_global_rng_alone(samples):
    torch.manual_seed(11)
    before = torch.get_rng_state()
    list(step_loader(StepBatches(samples, 2, SEED, AUGMENT), 0, 2, workers=1, pin_memory=False))
    assert torch.equal(torch.get_rng_state(), before)


def test_processes_augment_their_own_slots_and_together_make_one_process_global_batch(samples):
    """Every sample the same image: identical slots would mean identical augmentation on every process."""
    same = SampleSet(np.repeat(samples.images[:1], 8, axis=0), np.repeat(samples.boxes[:1], 8, axis=0),
                     np.zeros(8, dtype=np.int64), [samples.annotations[0]] * 8)
    ranks = [StepBatches(same, 2, SEED, AUGMENT, rank, 2)[5] for rank in range(2)]
    assert not torch.equal(ranks[0][0], ranks[1][0])
    whole = StepBatches(same, 4, SEED, AUGMENT)[5]
    assert _equal([torch.cat(parts) for parts in zip(*ranks, strict=True)], whole)
