"""Shared fixtures of the training tests: one small phantom dataset per session, modest torch threads."""

from pathlib import Path

import pytest
import torch

from training.data.phantom import make_phantom

REAL_METADATA = Path(__file__).resolve().parents[1] / "data" / "nih-metadata"


@pytest.fixture(autouse=True)
def _modest_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory) -> Path:
    """18 disease and 10 healthy phantom images at 64 px in NIH's layout."""
    out = tmp_path_factory.mktemp("phantom")
    make_phantom(out, disease=18, healthy=10, size=64, seed=3)
    return out


@pytest.fixture
def real_metadata() -> Path:
    return REAL_METADATA
