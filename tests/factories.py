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
    Image.fromarray(pixels, mode="L").convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def create_study(slug: str = "paper", status: str = "draft", **fields):
    from readerstudy.studies.models import Finding, Source, Study

    study = Study.objects.create(slug=slug, name=fields.pop("name", slug.title()), status=status, **fields)
    study.findings.set(Finding.objects.all())
    study.sources.set(Source.objects.all())
    return study


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
