"""The batch format, written once: what `generation` and the localisation synthetic set write and what
`readerstudy.batches` and the localisation data read (``manifest.py``: the manifest's columns; ``png.py``: the PNG
layout of a study image; ``geometry.py``: the crop and resize to the study's size, and where a box lands;
``origins.py``: the optional ``origins/`` folder, each generated image's origin in the study frame).

Only the standard library, numpy and Pillow: `training` and `generation` (no Django) and `readerstudy` (no torch)
all import it, and it imports none of them (an import-linter contract in ``pyproject.toml`` says so).
"""
