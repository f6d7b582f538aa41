"""One reproducibility module: the batch order both kinds of run drew before it, seeding, RNG state save/restore."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from training.reproducibility import (
    GENERATOR_BATCH_STREAM,
    batch_indices,
    restore_rng_state,
    rng_state,
    seed_everything,
)

CPU = torch.device("cpu")
BEFORE = json.loads((Path(__file__).parent / "data" / "batch_order_before_one_implementation.json").read_text())


def _name(case: dict) -> str:
    return "-".join(f"{key}{value}" for key, value in case.items() if key != "indices")


@pytest.mark.parametrize("case", BEFORE["gan_training"], ids=_name)
def test_generator_runs_draw_the_batches_the_old_datasets_batch_indices_drew(case):
    drawn = batch_indices(n=case["n"], batch_size=case["batch_size"], step=case["step"], seed=case["seed"],
                          stream=GENERATOR_BATCH_STREAM, rank=case["rank"], world=case["world"])
    assert drawn.tolist() == case["indices"]


@pytest.mark.parametrize("case", BEFORE["localisation"], ids=_name)
def test_detector_runs_draw_the_batches_the_old_localisation_batch_indices_drew(case):
    drawn = batch_indices(n=case["n"], batch_size=case["batch_size"], step=case["step"], seed=case["seed"],
                          stream=None)
    assert drawn.tolist() == case["indices"]


def test_batch_order_is_a_function_of_seed_and_step_and_visits_every_sample():
    def draw(step: int, seed: int = 7) -> np.ndarray:
        return batch_indices(n=10, batch_size=3, step=step, seed=seed, stream=GENERATOR_BATCH_STREAM)

    first_epoch = np.concatenate([draw(step) for step in range(4)])[:10]
    assert sorted(first_epoch) == list(range(10))
    assert np.array_equal(draw(5), draw(5))
    assert not np.array_equal(draw(5), draw(5, seed=8))


def test_ranks_take_disjoint_slices_of_the_global_batch():
    ranks = [batch_indices(n=8, batch_size=2, step=0, seed=1, stream=None, rank=r, world=4) for r in range(4)]
    assert sorted(np.concatenate(ranks)) == list(range(8))


def test_batch_order_arguments_are_named_so_step_and_seed_cannot_be_swapped():
    with pytest.raises(TypeError):
        batch_indices(10, 3, 5, 7, None)  # type: ignore[misc]


def test_no_batch_can_be_drawn_from_no_samples():
    with pytest.raises(ValueError, match="no training samples"):
        batch_indices(n=0, batch_size=2, step=0, seed=0, stream=None)


def test_seeding_fixes_python_numpy_and_torch_draws():
    seed_everything(11)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(11)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_a_restored_rng_state_repeats_every_generators_draws():
    seed_everything(3)
    saved = rng_state(CPU)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(4)
    restore_rng_state(saved, CPU)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_the_rng_state_survives_a_weights_only_checkpoint(tmp_path):
    seed_everything(9)
    torch.save({"rng": rng_state(CPU)}, tmp_path / "state.pt")
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_rng_state(torch.load(tmp_path / "state.pt", weights_only=True)["rng"], CPU)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_a_run_keeps_only_its_own_gpus_state_and_older_detector_checkpoints_resume_anywhere():
    """A saved GPU state is one tensor of the run's GPU, not a list over every visible GPU (a resume where fewer
    GPUs are visible indexed past the end); an older detector checkpoint (torch's state and such a list, nothing
    else) is restored without one (here: on the CPU)."""
    torch.manual_seed(5)
    state = rng_state(CPU)
    assert "cuda" not in state
    older = {"torch": state["torch"], "cuda": [torch.zeros(16, dtype=torch.uint8) for _ in range(4)]}
    torch.manual_seed(6)
    restore_rng_state(older, CPU)
    assert torch.equal(torch.get_rng_state(), state["torch"])


def test_on_cuda_the_state_of_the_runs_own_gpu_is_saved_and_restored(monkeypatch):
    """Recorded through stand-ins for ``torch.cuda``'s per-device calls: GPU 1's state, never a list of all."""
    calls: list[tuple] = []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device: calls.append(("get", device)) or torch.ones(3))
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device: calls.append(("set", device, state.sum())))
    gpu = torch.device("cuda", 1)
    state = rng_state(gpu)
    restore_rng_state(state, gpu)
    restore_rng_state({"torch": state["torch"], "cuda": [torch.ones(2), torch.ones(5)]}, gpu)
    assert [c[:2] for c in calls] == [("get", gpu), ("set", gpu), ("set", gpu)]
    assert [float(c[2]) for c in calls[1:]] == [3.0, 2.0]
