"""Writing the batch zip in the import format: images, ``manifest.csv``, ``provenance.json`` and, for generated
images, their origins (``origins/<filename>``, :mod:`batchformat.origins`).

The zip is written to a temporary file beside the target and renamed over it only when complete, so a failure at any
point leaves no partial zip behind and never touches an existing file that was not meant to be replaced.
"""
from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

from batchformat.manifest import COLUMNS, MANIFEST_NAME
from batchformat.origins import origin_member


class BatchZipWriter:
    """Streams PNGs into ``<out>.partial-<pid>`` and publishes ``out`` atomically on :meth:`commit`.

    Use as a context manager: leaving the block by an exception removes the temporary file.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.tmp = self.out.with_name(f".{self.out.name}.partial-{os.getpid()}")
        self._zip: zipfile.ZipFile | None = None
        self._rows: list[dict] = []
        self._names: set[str] = set()
        self._origins: set[str] = set()

    def __enter__(self) -> BatchZipWriter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._zip = zipfile.ZipFile(self.tmp, "w", compression=zipfile.ZIP_STORED)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        if self.tmp.exists():
            self.tmp.unlink()

    def add_image(self, filename: str, png: bytes, row: dict) -> None:
        """Add one PNG (stored, PNG is already compressed) and its manifest row."""
        if filename in self._names:
            raise ValueError(f"duplicate file name in the batch: {filename}")
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown manifest columns: {sorted(unknown)}")
        self._names.add(filename)
        self._zip.writestr(_entry(filename), png)
        self._rows.append({**{column: "" for column in COLUMNS}, **row, "filename": filename})

    def add_origin(self, filename: str, png: bytes) -> None:
        """Add the origin of the image already added as ``filename``: the image the generator started from, through
        the same final pipeline (one origin per image)."""
        if filename not in self._names:
            raise ValueError(f"an origin for {filename}, which is not an image of the batch")
        if filename in self._origins:
            raise ValueError(f"a second origin for {filename}")
        self._origins.add(filename)
        self._zip.writestr(_entry(origin_member(filename)), png)

    def commit(self, provenance: dict) -> Path:
        """Write the manifest and provenance, close the zip and rename it onto ``out``."""
        self._zip.writestr(_entry(MANIFEST_NAME), _manifest_csv(self._rows))
        self._zip.writestr(_entry("provenance.json"), json.dumps(provenance, indent=1, sort_keys=False))
        self._zip.close()
        self._zip = None
        os.replace(self.tmp, self.out)
        return self.out


def _entry(name: str) -> zipfile.ZipInfo:
    # A fixed timestamp and permissions: the archive carries no time of day and no local user's details.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_STORED
    return info


def _manifest_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
