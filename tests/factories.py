"""Plain factory functions that build the world for tests."""
from __future__ import annotations

import io
import itertools

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image

_counter = itertools.count(1)


def make_png(size: int = 224, seed: int | None = None, mode: str = "L") -> bytes:
    """A PNG of random pixels; distinct seeds give distinct images."""
    rng = np.random.default_rng(next(_counter) if seed is None else seed)
    pixels = rng.integers(0, 256, size=(size, size), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format="PNG")  # a 2-D uint8 array is mode L
    return buffer.getvalue()


def ensure_findings_and_sources() -> None:
    """Re-create the seeded findings and sources if a transactional test's flush removed them (a flush empties every
    table, data migrations' rows included, so a later transactional_db/live_server test would see none)."""
    import importlib

    from readerstudy.studies.models import Finding, Source

    if Finding.objects.exists() and Source.objects.exists():
        return
    seed = importlib.import_module("readerstudy.studies.migrations.0002_seed_findings_and_sources")
    for order, name in enumerate(seed.FINDINGS):
        Finding.objects.get_or_create(slug=name.lower(), defaults={"name": name, "order": order})
    for order, (name, slug, is_real) in enumerate(seed.SOURCES):
        Source.objects.get_or_create(slug=slug, defaults={"name": name, "is_real": is_real, "order": order})


def create_study(slug: str = "paper", status: str = "draft", admins=None, **fields):
    """A study over all findings and sources. ``admins``: its admins; by default every staff account that exists
    now that is not a superuser (the upgrade's rule for studies without a creator), so a test's ``staff_user`` made
    before the study administers it."""
    from django.contrib.auth import get_user_model

    from readerstudy.studies.models import Finding, Source, Study, StudyAdministrator

    ensure_findings_and_sources()
    study = Study.objects.create(slug=slug, name=fields.pop("name", slug.title()), status=status, **fields)
    study.findings.set(Finding.objects.all())
    study.sources.set(Source.objects.all())
    if admins is None:
        admins = get_user_model().objects.filter(is_staff=True, is_superuser=False)
    StudyAdministrator.objects.bulk_create([StudyAdministrator(study=study, user=user) for user in admins])
    return study


def make_study_admin(study, user) -> None:
    """``user`` (made staff) administers ``study`` as well."""
    from readerstudy.studies.models import StudyAdministrator

    if not user.is_staff:
        type(user).objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    StudyAdministrator.objects.get_or_create(study=study, user=user)


def create_reader(study=None, username: str | None = None, password: str = "reader-pass-123"):
    """A user (created if needed) and, when a study is given, their membership in it."""
    from readerstudy.studies.models import Membership

    username = username or f"reader{next(_counter)}"
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first() or user_model.objects.create_user(
        username, password=password
    )
    if study is None:
        return user
    number = (Membership.objects.filter(study=study).order_by("-number").values_list("number", flat=True).first()
              or 0) + 1
    return Membership.objects.create(study=study, user=user, number=number)


def create_case(study, finding: str = "atelectasis", source: str = "real", png: bytes | None = None):
    """A case whose stored image is a fresh PNG; finding and source are given by slug."""
    import hashlib

    from readerstudy.studies.models import Case, Finding, Source

    png = png or make_png()
    case = Case(
        study=study,
        finding=Finding.objects.get(slug=finding),
        source=Source.objects.get(slug=source),
        pixel_sha256=hashlib.sha256(png).hexdigest(),
    )
    case.image.save("ignored.png", ContentFile(png), save=False)
    case.save()
    return case


def make_manifest(rows: list[dict], columns: tuple[str, ...] | None = None, *, bom: bool = False,
                  crlf: bool = False) -> bytes:
    """A batch manifest.csv from dicts (columns default to the union of the rows' keys, in order)."""
    import csv

    if columns is None:
        columns = tuple(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n" if crlf else "\n")
    writer.writeheader()
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def make_zip(members: dict[str, bytes]) -> bytes:
    """A zip (deflated) holding ``members`` by name, in order."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def make_batch_zip(cells: list[tuple[str, str]] | None = None, *, size: int = 224, seed: int | None = None,
                   extra: dict[str, bytes] | None = None, **manifest_options) -> bytes:
    """A valid batch zip: one random PNG per (finding, source) cell, e.g. [("Atelectasis", "Real")]."""
    cells = cells or [("Atelectasis", "Real"), ("Atelectasis", "Pix2Pix"), ("Effusion", "Real"),
                      ("Effusion", "StarGAN")]
    base = next(_counter) * 1000 if seed is None else seed
    rows, members = [], {}
    for index, (finding, source) in enumerate(cells):
        name = f"img_{index:03d}.png"
        rows.append({"filename": name, "finding": finding, "source": source})
        members[name] = make_png(size=size, seed=base + index)
    return make_zip({"manifest.csv": make_manifest(rows, **manifest_options), **members, **(extra or {})})


def create_cases_fast(study, finding: str, source: str, count: int) -> list:
    """``count`` cases of one finding and source in one INSERT, sharing a tiny image name (no files written): for
    tests that need many cases but never look at a pixel."""
    from readerstudy.studies.models import Case, Finding, Source

    finding_row, source_row = Finding.objects.get(slug=finding), Source.objects.get(slug=source)
    return Case.objects.bulk_create([
        Case(study=study, finding=finding_row, source=source_row, image="cases/shared.png",
             pixel_sha256=f"{next(_counter):064x}")
        for _ in range(count)
    ])


def cast_votes_fast(membership, answers: list[tuple], start_position: int = 1) -> list:
    """Votes for ``membership`` in one INSERT; ``answers`` holds (case, "real"/"fake"[, confidence[, time_ms]])."""
    from readerstudy.reading.models import Vote

    votes = []
    for position, (case, answer, *rest) in enumerate(answers, start=start_position):
        confidence = rest[0] if len(rest) > 0 else None
        time_ms = rest[1] if len(rest) > 1 else None
        votes.append(Vote(membership=membership, case=case, answer=answer, confidence=confidence, time_ms=time_ms,
                          position=position))
    return Vote.objects.bulk_create(votes)


LOGIN = "login"  # an access-matrix outcome: a redirect to a login page


def client_for(world: dict, actor: str):
    """A test client logged in as ``world["users"][actor]`` (anonymous when that is None)."""
    from django.test import Client

    client = Client()
    if world["users"][actor] is not None:
        client.force_login(world["users"][actor])
    return client


def access_outcome(response) -> int | str:
    """A response as an access-matrix cell: ``LOGIN`` for a redirect to a login page, else the status code."""
    if response.status_code == 302 and ("/accounts/login/" in response.url or "/admin/login/" in response.url):
        return LOGIN
    return response.status_code


def sequence_case_ids(membership) -> list[int]:
    """Case ids in the order this reader sees them (a repeated case appears again at its repeat's place), read the
    way every reading request reads them (``reading.state.reading_state``)."""
    from readerstudy.reading.state import reading_state

    return [slot.case_id for slot in reading_state(membership).sequence]
