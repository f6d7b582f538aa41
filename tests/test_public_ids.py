"""Case ids never look like a spreadsheet formula, so every export carries them unchanged and files join on them: the
votes CSV, the long CSV, the sequences CSV, the iMRMC file, the API and the gallery show the very ids the database
holds. Ids that could (the old URL-safe ids: about 1 in 64 started with "-") are rewritten once by a migration, which
keeps them unique and writes each change to the study's audit trail; a database constraint keeps them out after."""
from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from readerstudy.reading.models import SequenceSlot
from readerstudy.results.mrmc_export import imrmc_export
from readerstudy.studies.models import Case, new_image_token, new_public_id
from readerstudy.text import FORMULA_STARTS, neutralise
from tests.factories import cast_votes_fast, create_cases_fast


def test_a_new_case_id_is_sixteen_letters_and_digits_so_no_export_rewrites_it():
    ids = [new_public_id() for _ in range(20_000)]
    assert all(re.fullmatch(r"[A-Za-z0-9]{16}", public_id) for public_id in ids)
    assert not any(public_id.startswith(FORMULA_STARTS) for public_id in ids)
    assert all(neutralise(public_id) == public_id for public_id in ids)
    assert len(set(ids)) == len(ids)


def test_the_image_token_stays_a_128_bit_random_token_independent_of_the_case_id():
    tokens = {new_image_token() for _ in range(2_000)}
    assert len(tokens) == 2_000 and all(re.fullmatch(r"[A-Za-z0-9_-]{22}", token) for token in tokens)  # 16 bytes


def test_the_database_refuses_a_case_id_that_starts_like_a_formula(study_factory):
    case = create_cases_fast(study_factory("paper"), "effusion", "real", 1)[0]
    for bad in ("-abc", "=1+1", "+x", "@SUM(A1)"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Case.objects.filter(pk=case.pk).update(public_id=bad)


def _csv_cases(response, column: str = "case") -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return [row[column] for row in csv.DictReader(io.StringIO(body.decode()))]


def test_every_export_carries_the_same_case_ids_as_the_database(study_factory, reader_factory, staff_api,
                                                                staff_user, client):
    study = study_factory("paper", status="open", ask_confidence=True)
    cases = (create_cases_fast(study, "effusion", "real", 40) + create_cases_fast(study, "effusion", "pix2pix", 40))
    ids = set(Case.objects.filter(study=study).values_list("public_id", flat=True))
    assert len(ids) == 80
    reader = reader_factory(study)
    cast_votes_fast(reader, [(case, "fake" if n % 3 else "real", 1 + n % 5) for n, case in enumerate(cases)])

    assert set(_csv_cases(staff_api.get("/api/studies/paper/export.csv"))) == ids
    assert set(_csv_cases(staff_api.get("/api/studies/paper/export-long.csv"))) == ids
    sequence = staff_api.get("/api/studies/paper/sequences/?reader=R1").json()
    assert {row["case"] for row in sequence if row["phase"] == "study"} == ids
    assert set(_csv_cases(staff_api.get("/api/studies/paper/sequences.csv?reader=R1"))) == ids
    imrmc = imrmc_export(study)
    assert set(imrmc.cases.values()) == ids
    key_line = next(line for line in imrmc.text.splitlines() if line.startswith("Cases (id = case): "))
    assert {pair.split("=", 1)[1] for pair in key_line.removeprefix("Cases (id = case): ").split()} == ids
    client.force_login(staff_user)
    in_gallery, page = set(), 1
    while page:
        html = client.get(f"/studies/paper/cases/?page={page}").content.decode()
        in_gallery |= set(re.findall(r"/studies/paper/cases/([^/\"]+)/thumb\.png", html))
        page = page + 1 if 'id="next-page"' in html else 0
    assert in_gallery == ids


# The migration: the last migrations before it, and what it must do to a database that holds old-style ids.
BEFORE = [("studies", "0008_case_origin_seen"), ("reading", "0002_moved_content_types")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_formula_like_ids_new_unique_ones_and_records_each_change():
    old = _migrate(BEFORE)
    try:
        model = old.get_model
        finding = model("studies", "Finding").objects.get_or_create(slug="mig-f", defaults={"name": "Mig f"})[0]
        source = model("studies", "Source").objects.get_or_create(slug="mig-s", defaults={"name": "Mig s"})[0]
        study = model("studies", "Study").objects.create(slug="old-ids", name="Old ids", status="open")
        olds = ["-dash1", "=eq", "+plus", "@at", "Kept_as-is", "_under"]
        for n, public_id in enumerate(olds):
            model("studies", "Case").objects.create(study=study, public_id=public_id, image_token=f"token-{n}",
                                                    image="cases/x.png", pixel_sha256=f"{n:064x}", finding=finding,
                                                    source=source)
        user = model("auth", "User").objects.create(username="old-reader")
        membership = model("studies", "Membership").objects.create(study=study, user=user, number=1, order_seed=7)
        case = model("studies", "Case").objects.get(public_id="Kept_as-is")
        model("reading", "SequenceSlot").objects.create(membership=membership, phase="study", position=1, case=case)
        model("reading", "SequenceSlot").objects.create(membership=membership, phase="study", position=2, case=case,
                                                        is_repeat=True, public_id="-repeat", image_token="rt-1")
        by_token = dict(model("studies", "Case").objects.values_list("image_token", "public_id"))

        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

        after = dict(Case.objects.filter(study__slug="old-ids").values_list("image_token", "public_id"))
        changed = {by_token[token]: after[token] for token in by_token if by_token[token] != after[token]}
        assert set(changed) == {"-dash1", "=eq", "+plus", "@at"}  # the rest kept: old files still join on them
        assert all(re.fullmatch(r"[A-Za-z0-9]{16}", new) for new in changed.values())
        assert len(set(after.values())) == len(olds)
        from readerstudy.studies.models import AuditEntry

        recorded = {(entry.old_value, entry.new_value) for entry in AuditEntry.objects.filter(
            study__slug="old-ids", action="case id changed")}
        assert recorded == set(changed.items())
        repeat = SequenceSlot.objects.get(membership__study__slug="old-ids", is_repeat=True)
        assert re.fullmatch(r"[A-Za-z0-9]{16}", repeat.public_id) and repeat.image_token == "rt-1"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
