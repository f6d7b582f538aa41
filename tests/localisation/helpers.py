"""Small builders shared by the localisation tests: synthetic batches in the import format."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

MANIFEST_COLUMNS = ["filename", "finding", "source", "origin_image", "bbox_x", "bbox_y", "bbox_w", "bbox_h"]


def png_bytes(width: int, height: int, value: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width), value, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_batch(path: Path, rows: list[dict], size: tuple[int, int] = (512, 512),
                columns: list[str] = MANIFEST_COLUMNS) -> Path:
    """A batch zip with one flat gray PNG per row; ``rows`` give the manifest cells (missing cells stay empty)."""
    manifest = io.StringIO()
    writer = csv.DictWriter(manifest, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.csv", manifest.getvalue())
        for number, row in enumerate(rows):
            archive.writestr(row["filename"], png_bytes(*size, value=60 + number))
    return path


def pix2pix_rows(count: int, source: str = "Pix2Pix", finding: str = "Effusion") -> list[dict]:
    return [
        {"filename": f"{source.lower()}_{i:03d}.png", "finding": finding, "source": source,
         "origin_image": f"0000000{i}_000.png", "bbox_x": 100, "bbox_y": 50, "bbox_w": 200, "bbox_h": 100}
        for i in range(count)
    ]
