"""Ids numbered by a table are numbered as ``np.unique`` numbers them, whatever the ids."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.indexing import unique_inverse


@pytest.mark.parametrize("ids", [
    np.array([5, 3, 5, 9, 3, 3]),  # compact: the table
    np.array([10**12, 7, 10**12, -4]),  # spread far apart: np.unique itself
    np.array([], dtype=np.int64),
    np.array([True, False, True]),
    np.array([0.5, 0.25, 0.5]),
    np.random.default_rng(0).integers(1_000_000, 1_000_600, 180_000),
])
def test_the_numbering_is_np_uniques(ids):
    uniques, inverse = unique_inverse(ids)
    expected_uniques, expected_inverse = np.unique(ids, return_inverse=True)
    assert uniques.dtype == expected_uniques.dtype
    assert np.array_equal(uniques, expected_uniques) and np.array_equal(inverse, expected_inverse.reshape(-1))
    assert np.array_equal(uniques[inverse], ids)
