"""Setting a study up, scriptably: services, management commands, staff API endpoints, token auth, the API schema,
and production settings that pass Django's deployment checks."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from readerstudy.demo.names import DEMO_SLUG
from readerstudy.reading import votes
from readerstudy.studies import services
from readerstudy.studies.models import Case, Membership, Study

ROOT = Path(__file__).resolve().parent.parent


def test_create_study_command_makes_a_draft_over_all_findings_and_sources(db):
    call_command("create_study", "paper", "--name", "The paper's study")
    study = Study.objects.get(slug="paper")
    assert (study.name, study.status, study.findings.count(), study.sources.count()) == ("The paper's study",
                                                                                         "draft", 6, 4)


def test_add_reader_command_creates_the_account_and_numbers_readers_in_joining_order(study_factory):
    study = study_factory("paper")
    call_command("add_reader", "paper", "ann", "--password", "ann-pass-12345")
    call_command("add_reader", "paper", "ben")
    call_command("add_reader", "paper", "ann")  # again: nothing changes
    assert [(m.user.username, m.pseudonym) for m in Membership.objects.filter(study=study)] == [("ann", "R1"),
                                                                                                ("ben", "R2")]
    assert get_user_model().objects.get(username="ann").check_password("ann-pass-12345")
    assert not get_user_model().objects.get(username="ben").has_usable_password()


def test_reader_add_takes_the_next_free_pseudonym_when_another_admin_took_one(study_factory, monkeypatch):
    """Two admins adding readers at once: the loser of the unique-number race retries with the next number."""
    from django.db.models import QuerySet

    study = study_factory("paper")
    services.reader_add(study=study, username="first")
    real_aggregate = QuerySet.aggregate
    stale = {"once": True}

    def stale_top(self, *args, **kwargs):
        if stale.pop("once", False):
            return {"top": 0}  # as if read before "first" joined
        return real_aggregate(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "aggregate", stale_top)
    membership, created = services.reader_add(study=study, username="second")
    assert created and membership.pseudonym == "R2"


def test_open_study_refuses_a_study_without_cases(study_factory):
    study_factory("paper")
    with pytest.raises(CommandError, match="no cases"):
        call_command("open_study", "paper")
    assert Study.objects.get(slug="paper").status == "draft"


def test_open_study_refuses_generated_cases_without_real_ones(study_factory, case_factory):
    study = study_factory("paper")
    case_factory(study, source="pix2pix")
    with pytest.raises(CommandError, match="no real ones"):
        call_command("open_study", "paper")


def test_open_study_opens_a_study_with_real_and_generated_cases(study_factory, case_factory):
    study = study_factory("paper")
    case_factory(study, source="pix2pix")
    case_factory(study, source="real")
    call_command("open_study", "paper")
    study.refresh_from_db()
    assert study.status == "open" and study.opened_at is not None


def test_case_create_from_png_stores_the_pixels_blinded_under_a_random_name_with_their_hash(study_factory, make_png):
    import hashlib
    import io

    from PIL import Image

    from readerstudy.studies.blinding import is_blinded
    from readerstudy.studies.models import Finding, Source

    study = study_factory("paper")
    png = make_png(size=16)
    case = services.case_create_from_png(study=study, finding=Finding.objects.get(slug="effusion"),
                                         source=Source.objects.get(slug="real"), png_bytes=png,
                                         provenance={"original_name": "patient_0001.png"})
    with case.image.open("rb") as file:
        stored = file.read()
    assert case.pixel_sha256 == hashlib.sha256(stored).hexdigest()
    assert "patient" not in case.image.name and case.image.name.startswith("cases/")
    assert is_blinded(stored)  # stored as readers receive it: uncompressed, bare chunks
    assert Image.open(io.BytesIO(stored)).tobytes() == Image.open(io.BytesIO(png)).tobytes()


def test_demo_study_builds_an_open_study_with_drawn_images_and_prints_logins(db, capsys):
    call_command("demo_study", "--per-cell", "1")
    call_command("demo_study", "--per-cell", "1")  # idempotent
    study = Study.objects.get(slug=DEMO_SLUG)
    assert study.status == "open" and study.cases.count() == 24
    assert sorted(study.memberships.values_list("user__username", flat=True)) == ["reader1", "reader2"]
    out = capsys.readouterr().out
    assert "reader1" in out and "admin" in out
    assert get_user_model().objects.get(username="admin").is_staff
    assert list(study.administrators.values_list("user__username", flat=True)) == ["admin"]  # not operator access
    assert study.protocol.marks_mode == "fake"  # the demo asks readers to mark what gave a fake away


def test_staff_create_a_study_add_a_reader_and_open_it_through_the_api(staff_api, case_factory):
    created = staff_api.post("/api/studies/", {"slug": "paper", "name": "Paper", "allow_vote_changes": True},
                             format="json")
    assert created.status_code == 201 and created.json()["allow_vote_changes"] is True
    reader = staff_api.post("/api/studies/paper/readers/", {"username": "eve", "password": "eve-pass-12345"},
                            format="json")
    assert reader.status_code == 201 and reader.json() == {"username": "eve", "pseudonym": "R1",
                                                           "joined_at": reader.json()["joined_at"]}
    refused = staff_api.post("/api/studies/paper/open/")
    assert refused.status_code == 409 and "cases" in refused.json()["errors"]
    case_factory(Study.objects.get(slug="paper"), source="real")
    assert staff_api.post("/api/studies/paper/open/").json()["status"] == "open"


def test_creating_a_study_with_a_taken_slug_names_the_slug(staff_api, study_factory):
    study_factory("paper")
    response = staff_api.post("/api/studies/", {"slug": "paper", "name": "Again"}, format="json")
    assert response.status_code == 400 and "slug" in response.json()["errors"]


def test_a_token_from_username_and_password_authenticates_api_calls(study_factory, reader_factory, case_factory):
    study = study_factory("paper", status="open")
    case_factory(study)
    reader_factory(study, username="fay", password="fay-pass-12345")
    client = APIClient()
    token = client.post("/api/auth/token/", {"username": "fay", "password": "fay-pass-12345"}, format="json")
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert [s["slug"] for s in client.get("/api/studies/").json()] == ["paper"]
    assert client.get("/api/studies/paper/next/").status_code == 200


def test_a_wrong_password_gets_no_token_and_a_json_error(db):
    response = APIClient().post("/api/auth/token/", {"username": "nobody", "password": "x"}, format="json")
    assert response.status_code == 400 and response.json()["errors"]


def test_the_openapi_schema_describes_the_reading_endpoints(staff_api):
    response = staff_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"] if response["Content-Type"].endswith("json") else response.content.decode()
    for path in ("/api/studies/{slug}/next/", "/api/studies/{slug}/votes/", "/api/auth/token/"):
        assert path in paths
    docs = staff_api.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn." not in docs.content  # Swagger UI's assets are served locally


def test_production_settings_pass_the_deployment_checks_without_warnings():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env |= {"DJANGO_SETTINGS_MODULE": "readerstudy.settings.production",
           "SECRET_KEY": "p" * 20 + "-a-long-random-production-secret-key-for-the-check-" + "q" * 20,
           "ALLOWED_HOSTS": "reader.example.org"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_cases_are_never_deleted_with_votes_on_them(study_factory, reader_factory, case_factory):
    from django.db.models import ProtectedError

    study = study_factory("paper", status="open")
    case = case_factory(study)
    votes.vote_cast(membership=reader_factory(study), case_public_id=case.public_id, answer="real")
    with pytest.raises(ProtectedError):
        Case.objects.filter(pk=case.pk).delete()
