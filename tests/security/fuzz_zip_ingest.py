"""atheris (libFuzzer) target for the zip ingest: any bytes through ``validate_batch`` must end in a validated batch
or an ``ArchiveRejected`` naming the problems; any other exception is a crash and libFuzzer keeps the input.

    .venv/bin/python tests/security/fuzz_zip_ingest.py CORPUS_DIR -max_total_time=30

Run by tests/security/test_fuzz_zip_ingest.py (bounded, in ``make test``) and tests/soak (longer). The corpus folder
is seeded with valid batch zips so the mutations start from the structure a real upload has.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from readerstudy.batches.archive import ArchiveLimits, ArchiveRejected
    from readerstudy.batches.validation import ImportSettings, validate_batch

import io  # noqa: E402

FINDINGS = {"Atelectasis": "atelectasis", "Effusion": "effusion"}
SOURCES = {"Real": "real", "Pix2Pix": "pix2pix", "StarGAN": "stargan"}
CONFIG = ImportSettings(
    limits=ArchiveLimits(max_zip_bytes=4_000_000, max_members=64, max_uncompressed_bytes=16_000_000,
                         max_compression_ratio=100),
    max_image_pixels=1024 * 1024,
    crop_margin=0.05,
)
STAGING = Path(tempfile.mkdtemp(prefix="fuzz-staging-"))


def test_one_input(data: bytes) -> None:
    for leftover in STAGING.iterdir():
        leftover.unlink()
    try:
        validated = validate_batch(io.BytesIO(data), size=len(data), config=CONFIG, findings=FINDINGS,
                                   sources=SOURCES, real_sources={"real"}, existing_pixel_hashes=set(),
                                   staging_dir=STAGING)
    except ArchiveRejected as rejected:
        if not rejected.errors or not all(error.message for error in rejected.errors):
            raise AssertionError("a refusal must name at least one problem") from None
        return
    for image in validated.images:  # an accepted input stages exactly the normalised PNGs it promises
        if not image.staged_path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"):
            raise AssertionError("a staged image is not a PNG")


def seed_corpus(folder: Path) -> None:
    """Valid batch zips (one per shape) so the fuzzer starts from real structure."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.factories import make_batch_zip

    folder.mkdir(parents=True, exist_ok=True)
    cells = [("Atelectasis", "Real"), ("Effusion", "Pix2Pix")]
    (folder / "seed-two.zip").write_bytes(make_batch_zip(cells, size=224, seed=1))
    (folder / "seed-one-big.zip").write_bytes(make_batch_zip([("Effusion", "StarGAN")], size=256, seed=7))


if __name__ == "__main__":
    corpus = next((Path(arg) for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if corpus is not None and not corpus.is_file() and not any(corpus.glob("*")):
        seed_corpus(corpus)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
