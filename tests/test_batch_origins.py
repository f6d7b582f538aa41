"""A batch's optional ``origins/`` folder: each generated image's origin is checked like an image, stored beside its
case for the marks analysis only, refused naming the member when it breaks the rule, and never reaches a reader."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from readerstudy.batches import validation
from readerstudy.batches.models import Batch
from readerstudy.batches.services import batch_create, batch_delete, batch_import
from readerstudy.studies.models import Case, Study
from tests.factories import make_batch_zip, make_png

pytestmark = pytest.mark.django_db

STARGAN_FILE = "img_003.png"  # make_batch_zip's fourth cell: Effusion, StarGAN


def imported(study, data: bytes) -> Batch:
    return batch_import(batch=batch_create(study=study, archive_file=io.BytesIO(data), original_name="b.zip",
                                           enqueue=False))


def media_files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def png_of(pixels: np.ndarray, mode: str = "L", image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=image_format)
    return buffer.getvalue()


def origin_pixels(seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (224, 224), dtype=np.uint8)


def test_a_stargan_origin_is_stored_beside_its_case_and_the_other_cases_have_none(study_factory):
    batch = imported(study_factory(), make_batch_zip(extra={f"origins/{STARGAN_FILE}": png_of(origin_pixels())}))
    assert batch.status == "done" and batch.cases_created == 4
    stargan = Case.objects.get(source__slug="stargan")
    assert stargan.origin_file.name.startswith("origins/") and stargan.image.name not in stargan.origin_file.name
    with stargan.origin_file.open("rb") as stored:
        assert np.array_equal(np.asarray(Image.open(stored)), origin_pixels())
    assert set(Case.objects.exclude(pk=stargan.pk).values_list("origin_file", flat=True)) == {""}


def test_a_batch_without_origins_imports_as_before(study_factory):
    batch = imported(study_factory(), make_batch_zip())
    assert batch.status == "done" and set(Case.objects.values_list("origin_file", flat=True)) == {""}


def test_an_image_the_manifest_names_under_origins_stays_an_image(study_factory):
    from tests.factories import make_manifest, make_zip

    rows = [{"filename": "origins/a.png", "finding": "Effusion", "source": "StarGAN"}]
    batch = imported(study_factory(), make_zip({"manifest.csv": make_manifest(rows), "origins/a.png": make_png()}))
    assert batch.status == "done" and Case.objects.get().origin_file.name == ""


@pytest.mark.parametrize(("member", "data", "message"), [
    (f"origins/{STARGAN_FILE}", png_of(origin_pixels(), mode="RGB"), "8-bit gray"),
    (f"origins/{STARGAN_FILE}", png_of(np.zeros((256, 256), np.uint8)), "must be 224x224"),
    (f"origins/{STARGAN_FILE}", png_of(origin_pixels(), image_format="JPEG"), "must be a PNG"),
    (f"origins/{STARGAN_FILE}", b"not an image at all", "must be a PNG"),
    (f"origins/{STARGAN_FILE}", png_of(origin_pixels())[:2000], "truncated"),
    ("origins/img_000.png", png_of(origin_pixels()), "a real image"),
    ("origins/nobody.png", png_of(origin_pixels()), "which the manifest does not name"),
])
def test_a_bad_origin_fails_the_batch_naming_the_member_and_stores_nothing(study_factory, settings, member, data,
                                                                            message):
    batch = imported(study_factory(), make_batch_zip(extra={member: data}))
    assert batch.status == "failed" and Case.objects.count() == 0 and media_files(settings) == set()
    assert [error["file"] for error in batch.errors] == [member]
    assert message in batch.errors[0]["message"]


def test_an_origin_over_the_byte_limit_is_refused_before_it_is_read(study_factory, monkeypatch):
    monkeypatch.setattr(validation, "MAX_ORIGIN_BYTES", 1000)
    batch = imported(study_factory(), make_batch_zip(extra={f"origins/{STARGAN_FILE}": png_of(origin_pixels())}))
    assert batch.status == "failed" and "over the limit of 1000" in batch.errors[0]["message"]


def test_deleting_the_batch_deletes_the_origins(study_factory, settings, django_capture_on_commit_callbacks):
    batch = imported(study_factory(), make_batch_zip(extra={f"origins/{STARGAN_FILE}": png_of(origin_pixels())}))
    assert any(name.startswith("origins/") for name in media_files(settings))
    with django_capture_on_commit_callbacks(execute=True):
        batch_delete(batch=batch)
    assert not any(name.startswith("origins/") for name in media_files(settings))


def test_a_reader_never_receives_an_origin_nor_its_name(study_factory, reader_factory):
    study = study_factory()
    imported(study, make_batch_zip(extra={f"origins/{STARGAN_FILE}": png_of(origin_pixels())}))
    Study.objects.filter(pk=study.pk).update(status="open")
    reader_factory(study, username="blind", password="blind-pass-123")
    client = Client()
    client.post("/accounts/login/", {"username": "blind", "password": "blind-pass-123"})
    origin_name = Case.objects.get(source__slug="stargan").origin_file.name
    token = Path(origin_name).stem
    texts, images = [], []
    for path in ("/", f"/studies/{study.slug}/read/", "/api/studies/", f"/api/studies/{study.slug}/progress/"):
        texts.append(client.get(path).content.decode())
    while (response := client.get(f"/api/studies/{study.slug}/next/")).status_code != 204:
        texts.append(response.content.decode())
        image = client.get(response.json()["image_url"])
        images.append(b"".join(image.streaming_content) if image.streaming else image.content)
        client.post(f"/api/studies/{study.slug}/votes/", {"case": response.json()["case"], "answer": "fake"},
                    content_type="application/json")
    assert len(images) == 4
    assert not any(token in text or "origins/" in text or "origin_file" in text for text in texts)
    served = {np.asarray(Image.open(io.BytesIO(body))).tobytes() for body in images}
    assert origin_pixels().tobytes() not in served
    for path in (f"/i/{token}.png", f"/media-not-served/{origin_name}", f"/{origin_name}"):
        assert client.get(path).status_code == 404, path
