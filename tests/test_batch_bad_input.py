"""Each bad input of the issue: a clear message naming the file and row, no case, nothing left in media storage."""
from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from readerstudy.batches.models import Batch
from readerstudy.batches.services import BatchRejected, batch_create, batch_import
from readerstudy.studies.models import Case
from tests.factories import make_batch_zip, make_manifest, make_png, make_zip

GOOD_ROW = {"filename": "a.png", "finding": "Atelectasis", "source": "Real"}


def import_zip(study, data: bytes, name: str = "batch.zip") -> Batch:
    batch = batch_create(study=study, archive_file=io.BytesIO(data), original_name=name, enqueue=False)
    return batch_import(batch=batch)


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def zip_with_infos(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def one_image_zip(manifest_rows: list[dict] | None = None, images: dict[str, bytes] | None = None,
                  **extra: bytes) -> bytes:
    rows = manifest_rows if manifest_rows is not None else [GOOD_ROW]
    images = images if images is not None else {"a.png": make_png(seed=1)}
    return make_zip({"manifest.csv": make_manifest(rows), **images, **extra})


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def png_of(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 128).save(buffer, format="PNG")
    return buffer.getvalue()


def bad_manifest(text: str) -> bytes:
    return make_zip({"manifest.csv": text.encode(), "a.png": make_png(seed=1)})


# (id, zip bytes, file the error names, row it names, words it says)
BAD_ZIPS = [
    ("not-a-zip", lambda: b"PK but not really a zip file at all", "", None, "not a zip archive"),
    ("empty-zip", lambda: make_zip({}), "", None, "the zip is empty"),
    ("dot-dot", lambda: one_image_zip(**{"../evil.png": b"x"}), "../evil.png", None, "'..'"),
    ("absolute", lambda: one_image_zip(**{"/etc/evil.png": b"x"}), "/etc/evil.png", None, "absolute path"),
    ("drive-letter", lambda: one_image_zip(**{"C:/evil.png": b"x"}), "C:/evil.png", None, "drive letter"),
    ("backslash", lambda: one_image_zip(**{"sub\\..\\..\\evil.png": b"x"}), "sub\\..\\..\\evil.png", None,
     "backslash"),
    ("symlink", lambda: zip_with_infos([("manifest.csv", make_manifest([GOOD_ROW])), ("a.png", make_png(seed=1)),
                                        (symlink_info("link.png"), b"/etc/passwd")]), "link.png", None,
     "symbolic link"),
    ("nested-zip", lambda: one_image_zip(**{"inner.zip": make_zip({"x.png": make_png(seed=2)})}), "inner.zip", None,
     "nested archive"),
    ("nested-zip-renamed", lambda: one_image_zip(images={"a.png": make_zip({"x.png": make_png(seed=2)})}), "a.png", 2,
     "nested zip"),
    ("zip-bomb", lambda: one_image_zip(**{"huge.png": bytes(8 * 1024 * 1024)}), "huge.png", None, "zip bomb"),
    ("manifest-missing", lambda: make_zip({"a.png": make_png(seed=1)}), "manifest.csv", None, "no manifest.csv"),
    ("manifest-empty", lambda: bad_manifest(""), "manifest.csv", None, "is empty"),
    ("missing-column", lambda: bad_manifest("filename,finding\na.png,Atelectasis\n"), "manifest.csv", 1,
     "misses the required column(s) source"),
    ("unknown-column", lambda: bad_manifest("filename,finding,source,colour\na.png,Atelectasis,Real,red\n"),
     "manifest.csv", 1, "unknown column(s) 'colour'"),
    ("duplicate-filename", lambda: one_image_zip([GOOD_ROW, {**GOOD_ROW, "source": "Pix2Pix"}]), "a.png", 3,
     "repeats the filename of row 2"),
    ("named-but-absent", lambda: one_image_zip([GOOD_ROW, {**GOOD_ROW, "filename": "b.png"}]), "b.png", 3,
     "named in the manifest but is not in the zip"),
    ("present-not-in-manifest", lambda: one_image_zip(**{"stray.png": make_png(seed=5)}), "stray.png", None,
     "in the zip but not in the manifest"),
    ("unknown-finding", lambda: one_image_zip([{**GOOD_ROW, "finding": "Mass"}]), "a.png", 2, "unknown finding 'Mass'"),
    ("unknown-source", lambda: one_image_zip([{**GOOD_ROW, "source": "DALL-E"}]), "a.png", 2,
     "unknown source 'DALL-E'"),
    ("not-an-image", lambda: one_image_zip(images={"a.png": b"just some text, not pixels" * 20}), "a.png", 2,
     "not a PNG or JPEG"),
    ("truncated-png", lambda: one_image_zip(images={"a.png": make_png(size=256, seed=3)[:5000]}), "a.png", 2,
     "truncated or corrupt"),
    ("too-small", lambda: one_image_zip(images={"a.png": png_of((200, 300))}), "a.png", 2,
     "smaller than 224x224"),
    ("box-outside", lambda: one_image_zip([{**GOOD_ROW, "bbox_x": 200, "bbox_y": 10, "bbox_w": 50, "bbox_h": 10}]),
     "a.png", 2, "lies outside the 224x224 image"),
    ("duplicate-in-batch", lambda: one_image_zip([GOOD_ROW, {**GOOD_ROW, "filename": "b.png"}],
                                                 {"a.png": make_png(seed=7), "b.png": make_png(seed=7)}),
     "b.png", 3, "same pixels as a.png (row 2)"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("build", "file", "row", "words"), [case[1:] for case in BAD_ZIPS],
                         ids=[case[0] for case in BAD_ZIPS])
def test_a_bad_zip_fails_naming_the_file_and_row_and_stores_nothing(study_factory, settings, build, file, row, words):
    study = study_factory()
    batch = import_zip(study, build())
    assert batch.status == Batch.Status.FAILED
    assert any(words in error["message"] and error["file"] == file and error["row"] == row for error in batch.errors), \
        batch.errors
    assert not Case.objects.exists()
    assert media_files(settings) == []


@pytest.mark.django_db
def test_too_many_members_is_refused(study_factory, settings):
    settings.BATCH_MAX_MEMBERS = 3
    batch = import_zip(study_factory(), make_batch_zip([("Atelectasis", "Real")] * 3))
    assert batch.status == Batch.Status.FAILED
    assert "4 members, over the limit of 3" in batch.errors[0]["message"]
    assert not Case.objects.exists() and media_files(settings) == []


@pytest.mark.django_db
def test_a_zip_expanding_past_the_total_limit_is_refused(study_factory, settings):
    settings.BATCH_MAX_UNCOMPRESSED_BYTES = 100_000
    batch = import_zip(study_factory(), make_batch_zip([("Atelectasis", "Real")] * 3))
    assert "over the limit of 100000" in batch.errors[0]["message"]
    assert not Case.objects.exists() and media_files(settings) == []


@pytest.mark.django_db
def test_an_image_over_the_pixel_limit_is_a_decompression_bomb(study_factory, settings):
    settings.BATCH_MAX_IMAGE_PIXELS = 300 * 300
    batch = import_zip(study_factory(), one_image_zip(images={"a.png": png_of((2000, 2000))}))
    assert batch.errors == [{"file": "a.png", "row": 2,
                             "message": "2000x2000 is over the limit of 90000 pixels per image"}]
    assert not Case.objects.exists() and media_files(settings) == []


@pytest.mark.django_db
def test_an_image_already_in_the_study_is_refused(study_factory, settings):
    study = study_factory()
    assert import_zip(study, one_image_zip(images={"a.png": make_png(seed=11)})).status == Batch.Status.DONE
    files_before = sorted(media_files(settings))
    second = import_zip(study, one_image_zip([{**GOOD_ROW, "filename": "again.png", "source": "Pix2Pix"}],
                                             {"again.png": make_png(seed=11)}))
    assert second.errors == [{"file": "again.png", "row": 2,
                              "message": "has the same pixels as an image already in this study"}]
    assert Case.objects.count() == 1 and sorted(media_files(settings)) == files_before


@pytest.mark.django_db
def test_a_zip_over_the_size_limit_is_refused_before_it_is_stored(study_factory, settings):
    settings.BATCH_MAX_ZIP_BYTES = 1000
    with pytest.raises(BatchRejected, match="over the limit of 1000 bytes"):
        batch_create(study=study_factory(), archive_file=io.BytesIO(make_batch_zip()), original_name="big.zip")
    assert not Batch.objects.exists() and media_files(settings) == []


@pytest.mark.django_db
def test_every_row_error_is_reported_not_only_the_first(study_factory):
    rows = [{**GOOD_ROW, "filename": f"{name}.png", "finding": finding}
            for name, finding in [("a", "Mass"), ("b", "Nodule"), ("c", "Atelectasis")]]
    images = {f"{name}.png": make_png(seed=20 + i) for i, name in enumerate("abc")}
    batch = import_zip(study_factory(), one_image_zip(rows, images, **{"d.png": b"not in manifest"}))
    assert {(error["file"], error["row"]) for error in batch.errors} == {("a.png", 2), ("b.png", 3), ("d.png", None)}


@pytest.mark.django_db
def test_operating_system_litter_is_ignored(study_factory):
    data = one_image_zip(**{"__MACOSX/._a.png": b"resource fork", ".DS_Store": b"finder", "sub/.DS_Store": b"x"})
    batch = import_zip(study_factory(), data)
    assert batch.status == Batch.Status.DONE and batch.cases_created == 1


def test_without_a_worker_a_batch_over_the_pixel_budget_is_refused_before_it_is_decoded(study_factory, settings):
    """The embedded default imports inside the upload request, so the batch's decoded pixels are capped; the
    refusal names the row that crosses the budget and says how to import more."""
    settings.BATCH_MAX_BATCH_PIXELS = 2 * 300 * 300
    rows = [{"filename": f"{name}.png", "finding": "Atelectasis", "source": "Real"} for name in "abc"]
    images = {f"{name}.png": make_png(size=300, seed=index) for index, name in enumerate("abc")}
    batch = import_zip(study_factory("paper"), make_zip({"manifest.csv": make_manifest(rows), **images}))
    assert batch.status == Batch.Status.FAILED and not Case.objects.exists()
    [error] = batch.errors
    assert error["row"] == 4 and "run a worker" in error["message"] and "180,000 pixels" in error["message"]


@pytest.mark.parametrize("provenance,words", [
    (b'{"generator": "pix2pix", "fid": NaN}', "NaN is not a JSON number"),
    (b'{"generator": "pix2pix", "fid": Infinity}', "Infinity is not a JSON number"),
    (b'{"generator": "pix\\ud800pix"}', "lone surrogate"),
])
def test_a_provenance_with_nan_or_a_lone_surrogate_fails_the_batch_naming_the_file(study_factory, settings,
                                                                                    provenance, words):
    """PostgreSQL's JSON cannot hold NaN, Infinity or a lone surrogate: the batch fails with an error naming
    provenance.json and what is wrong, instead of a failure that names nothing (issue 29)."""
    study = study_factory("paper")
    rows = [{"filename": "a.png", "finding": "Atelectasis", "source": "Real"}]
    batch = import_zip(study, make_zip({"manifest.csv": make_manifest(rows), "a.png": make_png(seed=1),
                                        "provenance.json": provenance}))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FAILED and not Case.objects.exists()
    assert any(error["file"] == "provenance.json" and words in error["message"] for error in batch.errors), \
        batch.errors
