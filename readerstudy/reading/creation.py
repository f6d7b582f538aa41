"""Creating a study complete, the one way the New study page, ``POST /api/studies/`` and ``manage.py create_study``
share: its name and slug, its findings and sources, its reading protocol and its admins, in one transaction.

A study born here can take its first upload at once (its findings and sources are those a batch names) and is
administered by its creator. Bad input (a slug that exists, an empty name, no finding or no source, a protocol that
cannot be met, an admin that is not a staff account) is refused naming the field, and nothing is stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from readerstudy.studies.models import Finding, Source, Study
from readerstudy.studies.services import audit, study_admin_grant

from .models import ExposureMode, StudyProtocol
from .services import ProtocolError, validate_protocol

SLUG_MAX = Study._meta.get_field("slug").max_length
NAME_MAX = Study._meta.get_field("name").max_length


class StudySetUpError(ProtocolError):
    """A study that cannot be created as asked; ``field`` names what to fix."""


@dataclass
class StudySetUp:
    """What a researcher says about a new study. Empty findings or sources mean the defaults: every finding and
    source the platform knows (the paper's six findings; Real, StarGAN, Pix2Pix and Pix2Pix-N)."""

    name: str
    slug: str = ""
    description: str = ""
    findings: list[str] | None = None  # finding slugs
    sources: list[str] | None = None  # source slugs
    ask_confidence: bool = False
    allow_vote_changes: bool = False  # readers may go back and change an answer
    show_finding: bool = False
    practice_count: int = 0
    repeat_percent: Decimal = Decimal(0)
    exposure_mode: str = ExposureMode.OFF
    exposure_ms: int | None = None
    planned_readers: int | None = None
    planned_cases: int | None = None
    admins: list[str] = field(default_factory=list)  # more admins besides the creator (staff usernames)


def slug_for(name: str) -> str:
    """The slug a name suggests (editable on the page): lower case, hyphens, at most the slug's length."""
    return slugify(name)[:SLUG_MAX].strip("-")


def default_findings() -> list[Finding]:
    return list(Finding.objects.all())


def default_sources() -> list[Source]:
    return list(Source.objects.all())


def study_set_up(setup: StudySetUp, *, creator) -> Study:
    """Create the study, its protocol and its admins (the creator first; None: the server's operator, which leaves
    only the ``admins`` named), audited. All or nothing."""
    name = setup.name.strip()
    if not name:
        raise StudySetUpError("The study needs a name.", "name")
    if len(name) > NAME_MAX:
        raise StudySetUpError(f"A name is at most {NAME_MAX} characters.", "name")
    slug = (setup.slug.strip() or slug_for(name))
    if not slug or slug != slugify(slug) or len(slug) > SLUG_MAX:
        raise StudySetUpError(f"The slug (the study's address) may hold lower-case letters, digits and hyphens, at "
                              f"most {SLUG_MAX}: for example {slug_for(name) or 'my-study'}.", "slug")
    if Study.objects.filter(slug=slug).exists():
        raise StudySetUpError(f"A study with the slug {slug!r} exists already: choose another.", "slug")
    findings = _chosen(Finding, setup.findings, "findings", "finding")
    sources = _chosen(Source, setup.sources, "sources", "source")
    admins = _admin_accounts(setup.admins, creator)
    protocol = StudyProtocol(practice_count=setup.practice_count, repeat_percent=setup.repeat_percent,
                             exposure_mode=setup.exposure_mode, exposure_ms=setup.exposure_ms)
    for number, label in ((setup.planned_readers, "planned_readers"), (setup.planned_cases, "planned_cases")):
        if number is not None and not 1 <= number <= 100_000:
            raise StudySetUpError("A planned number is between 1 and 100,000 (or left empty).", label)
    try:
        with transaction.atomic():
            study = Study.objects.create(
                slug=slug, name=name, description=setup.description.strip(), created_by=creator,
                ask_confidence=setup.ask_confidence, allow_vote_changes=setup.allow_vote_changes,
                show_finding=setup.show_finding, planned_readers=setup.planned_readers,
                planned_cases=setup.planned_cases)
            study.findings.set(findings)
            study.sources.set(sources)
            protocol.study = study
            # The practice pool is filled after creation; opening checks it holds enough images.
            validate_protocol(study, protocol, check_practice_pool=False)
            protocol.save()
            audit(study, creator, "created", "study", "", slug)
            for account in ([creator] if creator is not None else []) + admins:
                study_admin_grant(study=study, user=account, actor=creator)
    except IntegrityError:
        raise StudySetUpError(f"A study with the slug {slug!r} exists already: choose another.", "slug") from None
    return study


def _chosen(model, slugs: list[str] | None, field_name: str, noun: str) -> list:
    everything = list(model.objects.all())
    if slugs is None:
        chosen = everything
    else:
        by_slug = {row.slug: row for row in everything}
        unknown = [slug for slug in slugs if slug not in by_slug]
        if unknown:
            raise StudySetUpError(f"No {noun} called {unknown[0]!r}; known: {', '.join(by_slug)}.", field_name)
        chosen = [by_slug[slug] for slug in dict.fromkeys(slugs)]
    if not chosen:
        raise StudySetUpError(f"A study needs at least one {noun}: tick the {field_name} its images will show.",
                              field_name)
    if model is Source and not any(source.is_real for source in chosen):
        raise StudySetUpError("A study needs the real source too: readers compare generated images with real ones.",
                              field_name)
    return chosen


def _admin_accounts(usernames: list[str], creator) -> list:
    wanted = [name.strip() for name in usernames if name.strip()]
    wanted = [name for name in dict.fromkeys(wanted) if creator is None or name != creator.get_username()]
    accounts = {user.get_username(): user for user in get_user_model().objects.filter(username__in=wanted)}
    for name in wanted:
        account = accounts.get(name)
        if account is None or not account.is_staff or not account.is_active:
            raise StudySetUpError(f"{name!r} is not an active staff account: only staff accounts administer "
                                  "studies.", "admins")
    return [accounts[name] for name in wanted]
