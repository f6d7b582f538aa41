"""Session fixtures: the phantom dataset and the tiny generators (see tiny_world)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.generation.tiny_world import make_phantom_data, make_tiny_checkpoints


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory) -> Path:
    return make_phantom_data(tmp_path_factory.mktemp("phantom"))


@pytest.fixture(scope="session")
def tiny_checkpoints(phantom_dir, tmp_path_factory) -> dict[str, Path]:
    return make_tiny_checkpoints(phantom_dir, tmp_path_factory.mktemp("checkpoints"))
