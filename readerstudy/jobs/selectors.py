"""Reads for the generation pages: the checkpoints a staff user may choose from, and a study's jobs."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from .models import GenerationJob

KINDS = ("pix2pix", "pix2pix-n", "stargan")


def checkpoint_files() -> list[Path]:
    """Every ``*.pt`` under GENERATION_CHECKPOINT_ROOT (sorted): staff choose among these, never a free path."""
    root = Path(settings.GENERATION_CHECKPOINT_ROOT)
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob("*.pt") if path.is_file())


def checkpoint_choices() -> list[tuple[str, str]]:
    root = Path(settings.GENERATION_CHECKPOINT_ROOT)
    return [(str(path), str(path.relative_to(root))) for path in checkpoint_files()]


def guess_checkpoint(kind: str, choices: list[tuple[str, str]]) -> str | None:
    """The first checkpoint whose relative path names ``kind`` as a folder (``pix2pix-n/...`` is not ``pix2pix``)."""
    for value, label in choices:
        if kind in Path(label).parts[:-1]:
            return value
    return None


def jobs_for_study(study):
    return GenerationJob.objects.filter(study=study).select_related("batch", "created_by")
