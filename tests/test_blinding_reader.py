"""Blinding: a reader walks a whole study through its pages, API and images, and nothing they receive (HTML, JSON,
headers, image bytes) names a case's source, its finding (hidden in this study), its original file name or truth."""
import io
import re
import struct

import numpy as np
import pytest
from django.test import Client
from PIL import Image, PngImagePlugin

from readerstudy.studies import services
from readerstudy.studies.models import Finding, Source

ORIGINAL_NAME = "00012345_000_Pix2PixGenerated.png"


def png_with_metadata(seed: int, source_name: str) -> bytes:
    """A PNG whose ancillary chunks carry the very things a reader must not see."""
    pixels = Image.effect_noise((64, 64), 40 + seed)
    info = PngImagePlugin.PngInfo()
    info.add_text("Source", source_name)
    info.add_text("Filename", ORIGINAL_NAME)
    buffer = io.BytesIO()
    pixels.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def png_chunk_types(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    types, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        types.append(data[offset + 4:offset + 8])
        offset += 12 + length
    return types


@pytest.fixture
def walked(study_factory, reader_factory):
    """Everything a reader receives while reading the whole study in the browser and through the API."""
    study = study_factory("paper", status="open", description="Judge each image.")
    sources = list(Source.objects.all())
    cases = []
    for index, finding in enumerate(Finding.objects.all()):
        for source in sources:
            cases.append(services.case_create_from_png(
                study=study, finding=finding, source=source,
                png_bytes=png_with_metadata(index * 10 + source.pk, source.name),
                provenance={"original_name": ORIGINAL_NAME, "source": source.name}))
    membership = reader_factory(study, username="blind", password="blind-pass-123")
    client = Client()
    client.post("/accounts/login/", {"username": "blind", "password": "blind-pass-123"})

    received = {"text": [], "headers": [], "images": []}

    def fetch(path, method="get", **kwargs):
        response = getattr(client, method)(path, **kwargs)
        received["headers"].append("\n".join(f"{k}: {v}" for k, v in response.items()))
        if response.get("Content-Type", "").startswith("image/"):
            body = b"".join(response.streaming_content) if response.streaming else response.content
            received["images"].append((response, body))
        else:
            received["text"].append(response.content.decode())
        return response

    fetch("/")
    fetch("/studies/paper/read/")
    fetch("/api/studies/")
    fetch("/api/studies/paper/progress/")
    while True:
        response = fetch("/api/studies/paper/next/")
        if response.status_code == 204:
            break
        body = response.json()
        image = fetch(body["image_url"])
        received.setdefault("first_image", (body["case"], image.content))
        fetch("/api/studies/paper/votes/", "post", data={"case": body["case"], "answer": "fake", "time_ms": 800},
              content_type="application/json")
        fetch("/api/studies/paper/votes/", "post", data={"case": body["case"], "answer": "real"},
              content_type="application/json")  # the 409 carries the stored vote: it too must be blind
    fetch("/studies/paper/finished/")
    fetch("/api/studies/paper/sequence/1/")
    return {"study": study, "cases": cases, "received": received, "membership": membership}


def forbidden_words(world) -> list[str]:
    words = [s.name for s in Source.objects.filter(is_real=False)] + [s.slug for s in Source.objects.all()]
    words += [f.name for f in Finding.objects.all()] + [f.slug for f in Finding.objects.all()]
    words += [ORIGINAL_NAME, "00012345", "is_real", "provenance", "pixel_sha256", "source", "truth"]
    for case in world["cases"]:
        words += [case.image.name, case.image.name.split("/")[-1], case.pixel_sha256]
    return [word for word in words if word != "real"]  # "Real" is the reader's own answer button


def test_the_reader_saw_every_case(walked):
    assert len(walked["received"]["images"]) == len(walked["cases"]) == 24


def test_no_page_or_json_names_a_source_finding_file_or_truth(walked):
    text = "\n".join(walked["received"]["text"])
    for word in forbidden_words(walked):
        assert not re.search(re.escape(word), text, re.IGNORECASE), word


def test_no_header_names_a_source_finding_or_file(walked):
    headers = "\n".join(walked["received"]["headers"])
    for word in forbidden_words(walked):
        assert word.lower() not in headers.lower(), word


def test_image_responses_carry_private_caching_and_no_identifying_headers(walked):
    for response, _body in walked["received"]["images"]:
        assert response["Cache-Control"].startswith("private")
        assert response["Content-Type"] == "image/png"
        for header in ("Content-Disposition", "ETag", "Last-Modified", "Vary"):
            assert header not in response, header


def test_image_bytes_carry_no_metadata_or_names(walked):
    for _response, body in walked["received"]["images"]:
        assert set(png_chunk_types(body)) <= {b"IHDR", b"IDAT", b"IEND"}
        for word in forbidden_words(walked):
            assert word.encode().lower() not in body.lower(), word


def test_every_image_has_the_same_byte_length_so_size_hints_at_nothing(walked):
    lengths = {len(body) for _response, body in walked["received"]["images"]}
    assert len(lengths) == 1


def test_served_pixels_are_the_stored_pixels(walked):
    public_id, served = walked["received"]["first_image"]
    case = next(case for case in walked["cases"] if case.public_id == public_id)
    with case.image.open("rb") as stored, Image.open(stored) as original:
        expected = original.convert("L").tobytes()
    assert Image.open(io.BytesIO(served)).tobytes() == expected


def test_image_tokens_are_long_random_and_unrelated_to_file_or_case_id(walked):
    tokens = [case.image_token for case in walked["cases"]]
    assert len(set(tokens)) == len(tokens) and all(len(token) >= 22 for token in tokens)
    for case in walked["cases"]:
        assert case.image_token not in case.image.name and case.image_token != case.public_id


def test_with_show_finding_on_the_finding_name_is_shown(walked):
    study = walked["study"]
    study.show_finding = True
    study.allow_vote_changes = True  # going back, where the finding shows again
    study.save()
    client = Client()
    client.force_login(walked["membership"].user)
    body = client.get("/api/studies/paper/sequence/1/").json()
    assert body["finding"] in {f.name for f in Finding.objects.all()}


def test_the_blinded_bytes_cache_serves_repeat_requests_and_stays_within_its_budget(tmp_path):
    from django.core.files.storage import FileSystemStorage

    from readerstudy.studies.blinding import BlindedImageCache, blinded_png

    storage = FileSystemStorage(location=tmp_path)
    names = []
    for shade in range(3):
        buffer = io.BytesIO()
        Image.new("L", (224, 224), shade * 80).save(buffer, format="PNG", compress_level=9)
        names.append(storage.save(f"case{shade}.png", io.BytesIO(buffer.getvalue())))

    one_image = len(blinded_png(storage.open(names[0])))
    cache = BlindedImageCache(max_bytes=2 * one_image)
    first = cache.get(storage, names[0])
    (tmp_path / names[0]).unlink()  # a cached image is served without touching storage again
    assert cache.get(storage, names[0]) == first
    cache.get(storage, names[1])
    cache.get(storage, names[2])  # over budget: the least recently used entry (names[0]) goes
    assert len(cache) == 2 and cache.size_bytes <= 2 * one_image
    with pytest.raises(FileNotFoundError):
        cache.get(storage, names[0])


def test_only_bare_uncompressed_pngs_count_as_blinded_and_anything_else_is_re_encoded():
    from readerstudy.studies.blinding import blinded_bytes, is_blinded

    pixels = Image.fromarray(np.random.default_rng(3).integers(0, 256, (224, 224), dtype=np.uint8))

    def encoded(image, **options):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", **options)
        return buffer.getvalue()

    bare = encoded(pixels, compress_level=0)
    info = PngImagePlugin.PngInfo()
    info.add_text("Source", "pix2pix")
    with_text = encoded(pixels, compress_level=0, pnginfo=info)
    compressed = encoded(pixels, compress_level=9)
    assert is_blinded(bare) and blinded_bytes(bare) is bare
    for other in (with_text, compressed, encoded(pixels.convert("RGBA"), compress_level=0), bare[:-12], b"GIF89a"):
        assert not is_blinded(other)
    for other in (with_text, compressed):
        assert blinded_bytes(other) == bare  # same pixels, same bytes
