"""The benchmarks' PostgreSQL database: created when it does not exist yet (a no-op on any other database)."""
from __future__ import annotations


def ensure_database() -> None:
    import psycopg2
    from django.conf import settings

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return
    connection = psycopg2.connect(dbname="postgres", user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432,
                                  password=db["PASSWORD"] or None)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    connection.close()


def study_already_filled(slug: str, votes: int) -> bool:
    """Whether a previous run left the study ``slug`` with exactly ``votes`` votes (then it is reused as it is)."""
    from readerstudy.reading.models import Vote
    from readerstudy.studies.models import Study

    existing = Study.objects.filter(slug=slug).first()
    if existing is None or Vote.objects.filter(case__study=existing).count() != votes:
        return False
    print(f"reusing study {slug!r} with {votes:,} votes")
    return True


def fresh_study(slug: str, name: str, *, findings: list, sources: list, reader_prefix: str, readers: int):
    """In the caller's transaction: remove the study ``slug`` (its votes and memberships) and the reader accounts a
    previous run left, then create the study (closed, confidence asked) with ``findings``, ``sources`` and
    ``readers`` readers ``<reader_prefix>01``, ``02``, ... numbered from 1. Returns (study, memberships)."""
    from django.contrib.auth import get_user_model

    from readerstudy.reading.models import Vote
    from readerstudy.studies.models import Membership, Study

    existing = Study.objects.filter(slug=slug).first()
    if existing is not None:
        Vote.objects.filter(case__study=existing).delete()
        Membership.objects.filter(study=existing).delete()
        existing.delete()
    user_model = get_user_model()
    user_model.objects.filter(username__startswith=reader_prefix).delete()
    study = Study.objects.create(slug=slug, name=name, status=Study.Status.CLOSED, ask_confidence=True)
    study.findings.set(findings)
    study.sources.set(sources)
    users = user_model.objects.bulk_create(
        [user_model(username=f"{reader_prefix}{number:02d}", password="!") for number in range(1, readers + 1)])
    memberships = Membership.objects.bulk_create(
        [Membership(study=study, user=user, number=number) for number, user in enumerate(users, start=1)])
    return study, memberships


def grid_cases(study, findings: list, sources: list, per_cell: int) -> list:
    """``per_cell`` cases for every finding x source of ``study`` (bulk-created, one shared placeholder image), in
    finding, then source order."""
    from readerstudy.studies.models import Case

    cells = [(finding, source) for finding in findings for source in sources for _ in range(per_cell)]
    return Case.objects.bulk_create([
        Case(study=study, image="cases/bench.png", pixel_sha256=f"{index:064x}", finding=finding, source=source)
        for index, (finding, source) in enumerate(cells)
    ])
