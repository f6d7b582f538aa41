"""A batch's manifest costs bounded memory whatever it holds: the zip-ingest fuzzer ran past 2 GB of RSS on a
manifest that deflate expanded just under the 100x ratio limit, every one of its few-byte rows an error of a
hundred-odd bytes (1 MB of such rows held 140 MB). The checks stop after MAX_ERRORS problems or once there are more
rows than the zip may hold images, the manifest and provenance files have a size limit, and an over-long cell is a
refusal rather than a crash."""
from __future__ import annotations

import io
import random
import tracemalloc
import zipfile

import pytest

from readerstudy.batches.archive import ArchiveLimits, ArchiveRejected
from readerstudy.batches.manifest import MAX_ERRORS, parse_manifest
from readerstudy.batches.validation import ImportSettings, validate_batch

FINDINGS = {"Effusion": "effusion"}
SOURCES = {"Real": "real", "StarGAN": "stargan"}


def config(max_members: int = 5000, max_text_bytes: int = 16 * 1024 * 1024) -> ImportSettings:
    return ImportSettings(limits=ArchiveLimits(max_zip_bytes=4_000_000, max_members=max_members,
                                               max_uncompressed_bytes=16_000_000, max_compression_ratio=100,
                                               max_text_bytes=max_text_bytes),
                          max_image_pixels=1024 * 1024, crop_margin=0.05)


def hostile_manifest(size: int) -> bytes:
    """``size`` bytes of rows each three errors (no filename, unknown finding and source), with enough noise that
    deflate expands it about 50 times, under the ratio limit."""
    rng = random.Random(17)
    block = b",x,\n" * 99
    return b"filename,finding,source\n" + b"".join(block + b"%d,,\n" % rng.randrange(10**9)
                                                   for _ in range(size // (len(block) + 11) + 1))


def zipped(manifest: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", manifest, compresslevel=9)
    return buffer.getvalue()


def refusal(data: bytes, settings: ImportSettings, tmp_path) -> tuple[list, int]:
    """The refusal's errors and the peak of Python allocations while the batch was checked."""
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveRejected) as refused:
            validate_batch(io.BytesIO(data), size=len(data), config=settings, findings=FINDINGS, sources=SOURCES,
                           real_sources={"real"}, existing_pixel_hashes=set(), staging_dir=tmp_path)
        return refused.value.errors, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_manifest_of_a_million_error_rows_costs_bounded_memory(tmp_path):
    manifest = hostile_manifest(2_000_000)
    data = zipped(manifest)
    assert 20 < len(manifest) / len(data) < 100  # passes the zip checks: it is the manifest check that must hold

    errors, peak = refusal(data, config(), tmp_path)

    assert len(errors) == MAX_ERRORS and "stopped after 1000 problems" in errors[-1].message
    assert peak < 12 * len(manifest)  # the file, its text and the parser's copy; unbounded, 280 MB


def test_a_manifest_with_more_rows_than_the_zip_may_hold_images_is_refused_early(tmp_path):
    rows = "".join(f"image-{n}.png,Effusion,Real\n" for n in range(200))
    errors, _ = refusal(zipped(f"filename,finding,source\n{rows}".encode()), config(max_members=64), tmp_path)
    assert any("more than 64 image rows" in error.message for error in errors)


def test_a_manifest_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    errors, peak = refusal(zipped(hostile_manifest(200_000)), config(max_text_bytes=100_000), tmp_path)
    assert [(error.file, "over the limit of 100000" in error.message) for error in errors] == [("manifest.csv", True)]


def test_a_cell_longer_than_the_csv_reader_takes_is_a_refusal_not_a_crash():
    parsed = parse_manifest(b"filename,finding,source\n" + b"a" * 200_000 + b",Effusion,Real\n", findings=FINDINGS,
                            sources=SOURCES)
    assert [(error.file, "is not a CSV file this import can read" in error.message) for error in parsed.errors] == \
        [("manifest.csv", True)]


def test_a_long_unknown_finding_is_quoted_short():
    parsed = parse_manifest(b"filename,finding,source\na.png," + b"F" * 100_000 + b",Real\n", findings=FINDINGS,
                            sources=SOURCES)
    assert [len(error.message) < 200 for error in parsed.errors] == [True]
