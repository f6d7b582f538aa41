"""Soak tests run only when asked for by marker (`make soak` passes ``-m soak``).

A command line with its own ``-m`` replaces the ``-m 'not soak'`` in pyproject's addopts; this keeps such runs
(``pytest tests -m 'not browser'``) from starting a 15-minute load, fault and fuzz session by accident.
"""
import pytest


def pytest_collection_modifyitems(config, items):
    if "soak" in (config.getoption("markexpr") or "").replace("not soak", ""):
        return
    skip = pytest.mark.skip(reason="soak test: run with `make soak` (pytest -m soak tests/soak)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
