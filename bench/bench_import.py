"""Batch import speed and memory: ``batch_import`` against a bare Pillow loop doing the same work on the same files.

    .venv/bin/python bench/bench_import.py [--images 600] [--small 150] [--size 1024]

Builds a zip of procedurally drawn grayscale PNGs (distinct pixels, NIH-like size), then, in a fresh process per zip
(on a throwaway SQLite database and media folder, Celery eager):

* imports it through ``readerstudy.batches.services.batch_import`` (validation, normalisation, staging, storage,
  cases) and reports images/s and the peak resident memory the import added over the process's baseline;
* runs the bare loop over the same zip members: Pillow decode, convert to L, crop margin, LANCZOS resize to 224,
  PNG encode, reporting images/s.

The target is an import at least 0.7x the bare loop's images/s, and peak memory that does not grow with batch size
(the large and the small zip should add about the same memory, since members are streamed one at a time).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CROP_MARGIN = 0.05


def chest_like(size: int, seed: int) -> np.ndarray:
    """A smooth chest-like gray image with a little noise: compresses like an X-ray, distinct per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    lungs = np.exp(-(((x - 0.32) / 0.16) ** 2 + ((y - 0.5) / 0.3) ** 2)) + np.exp(
        -(((x - 0.68) / 0.16) ** 2 + ((y - 0.5) / 0.3) ** 2))
    image = 200 - 120 * lungs + 25 * np.sin(8 * np.pi * y + rng.uniform(0, 6)) * (lungs > 0.3)
    image += rng.normal(0, 4, size=(size, size))
    return np.clip(image, 0, 255).astype(np.uint8)


def build_zips(images: int, small: int, size: int, folder: Path) -> tuple[Path, Path]:
    big, little = folder / f"batch-{images}.zip", folder / f"batch-{small}.zip"
    findings = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia", "Pneumothorax"]
    sources = ["Real", "StarGAN", "Pix2Pix", "Pix2Pix-N"]
    deflated = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(big, "w", deflated) as zb, zipfile.ZipFile(little, "w", deflated) as zs:
        lines = ["filename,finding,source"]
        for index in range(images):
            buffer = io.BytesIO()
            Image.fromarray(chest_like(size, index)).save(buffer, format="PNG")
            name = f"img_{index:04d}.png"
            zb.writestr(name, buffer.getvalue())
            if index < small:
                zs.writestr(name, buffer.getvalue())
            lines.append(f"{name},{findings[index % 6]},{sources[(index // 6) % 4]}")
            if index + 1 == small:
                zs.writestr("manifest.csv", "\n".join(lines) + "\n")
        zb.writestr("manifest.csv", "\n".join(lines) + "\n")
    return big, little


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> float:
    """Reset the kernel's resident high-water mark (VmHWM) to the current RSS and return that RSS in MiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mib("VmRSS")


def peak_rss_mib() -> float:
    return _status_mib("VmHWM")


def bare_loop(zip_path: Path) -> tuple[int, float]:
    """The same Pillow work with nothing around it: decode, convert, crop, resize, encode."""
    started = time.perf_counter()
    count = 0
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".png"):
                continue
            image = Image.open(io.BytesIO(archive.read(info))).convert("L")
            width, height = image.size
            dx, dy = round(width * CROP_MARGIN), round(height * CROP_MARGIN)
            image = image.crop((dx, dy, width - dx, height - dy)).resize((224, 224), Image.Resampling.LANCZOS)
            image.save(io.BytesIO(), format="PNG", compress_level=6)
            count += 1
    return count, time.perf_counter() - started


def child(zip_path: Path) -> None:
    """Run in a fresh process: import the zip, then the bare loop; print the figures as JSON."""
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ.update({"DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}", "MEDIA_ROOT": str(work / "media"),
                       "CELERY_BROKER_URL": "", "DJANGO_SETTINGS_MODULE": "readerstudy.settings"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from readerstudy.batches.services import batch_create, batch_import
    from tests.factories import create_study

    study = create_study("bench", crop_margin=CROP_MARGIN)
    batch = batch_create(study=study, archive_file=zip_path, original_name=zip_path.name, enqueue=False)
    count, bare_first_s = bare_loop(zip_path)  # warms the page cache and Pillow for both sides
    baseline = reset_peak_rss()
    started = time.perf_counter()
    batch = batch_import(batch=batch)
    import_s = time.perf_counter() - started
    import_peak = peak_rss_mib()
    assert batch.status == "done", (batch.failure_reason, batch.errors[:3])
    count, bare_second_s = bare_loop(zip_path)
    bare_s = min(bare_first_s, bare_second_s)  # the bare loop's better run: the ratio errs against the import
    print(json.dumps({"images": batch.cases_created, "import_s": import_s, "bare_s": bare_s, "bare_images": count,
                      "rss_baseline_mib": baseline, "rss_added_by_import_mib": import_peak - baseline}))


def run_child(zip_path: Path) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", str(zip_path)], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--small", type=int, default=150)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-import-zips-") as folder:
        started = time.perf_counter()
        big, little = build_zips(args.images, args.small, args.size, Path(folder))
        print(f"built {args.images} {args.size}x{args.size} PNGs in {time.perf_counter() - started:.1f} s "
              f"({big.stat().st_size / 2**20:.1f} MiB zip)")
        figures = {args.images: run_child(big), args.small: run_child(little)}
    for n, f in figures.items():
        import_rate, bare_rate = f["images"] / f["import_s"], f["bare_images"] / f["bare_s"]
        print(f"{n:>4} images: import {import_rate:6.1f} images/s ({f['import_s']:.1f} s) | bare loop "
              f"{bare_rate:6.1f} images/s ({f['bare_s']:.1f} s) | ratio {import_rate / bare_rate:.2f} (target >= 0.7) "
              f"| peak RSS added by the import {f['rss_added_by_import_mib']:.1f} MiB "
              f"(process baseline {f['rss_baseline_mib']:.0f} MiB)")
    grow = figures[args.images]["rss_added_by_import_mib"] - figures[args.small]["rss_added_by_import_mib"]
    print(f"memory growth from {args.small} to {args.images} images: {grow:+.1f} MiB")


if __name__ == "__main__":
    main()
