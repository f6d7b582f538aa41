"""NUL and other control characters, refused at every edge with a clear message (PostgreSQL cannot store a NUL in
text or JSON, so each of these was a 500 or a batch left "running" for ever there).

Run on PostgreSQL (DATABASE_URL=postgres://...): SQLite stores a NUL without complaint, so these would prove nothing.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from readerstudy.batches.models import Batch
from readerstudy.batches.services import batch_create, batch_delete, batch_import
from readerstudy.studies.models import Case, Invitation
from tests.factories import make_manifest, make_png, make_zip

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="NUL is PostgreSQL's problem")


def import_zip(study, data: bytes) -> Batch:
    batch = batch_create(study=study, archive_file=io.BytesIO(data), original_name="batch.zip", enqueue=False)
    return batch_import(batch=batch)


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def assert_failed_recorded_and_removable(batch: Batch, settings, words: str) -> None:
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FAILED
    assert any(words in error["message"] for error in batch.errors), batch.errors
    assert not Case.objects.exists() and stored_files(settings) == []
    batch_delete(batch=batch)
    assert not Batch.objects.filter(pk=batch.pk).exists()


def test_a_nul_in_a_manifest_file_name_fails_the_batch_with_a_message_and_it_can_be_removed(study_factory,
                                                                                            settings):
    study = study_factory("paper")
    rows = [{"filename": "a\x00.png", "finding": "Atelectasis", "source": "Real"}]
    batch = import_zip(study, make_zip({"manifest.csv": make_manifest(rows), "a.png": make_png(seed=1)}))
    assert_failed_recorded_and_removable(batch, settings, "the filename cell contains a control character (U+0000)")


def test_a_nul_in_provenance_json_fails_the_batch_with_a_message_and_it_can_be_removed(study_factory, settings):
    study = study_factory("paper")
    rows = [{"filename": "a.png", "finding": "Atelectasis", "source": "Real"}]
    provenance = json.dumps({"generator": "pix\x00pix", "checkpoints": ["ok"]}).encode()
    batch = import_zip(study, make_zip({"manifest.csv": make_manifest(rows), "a.png": make_png(seed=1),
                                        "provenance.json": provenance}))
    assert_failed_recorded_and_removable(batch, settings, "contains a control character (U+0000)")


def test_a_nul_in_a_url_parameter_is_a_clear_400(staff_user, study_factory):
    study_factory("paper", status="open")
    client = Client()
    client.force_login(staff_user)
    invite = client.get("/invite/%00abc/")
    assert invite.status_code == 400 and "control character (U+0000)" in invite.content.decode()
    query = client.get("/studies/paper/sequences/?reader=R%001")
    assert query.status_code == 400 and "query parameter 'reader'" in query.content.decode()
    api = client.get("/api/studies/paper/sequences.csv?reader=%00")
    assert api.status_code == 400 and api.json()["errors"] == {"'reader'": [api.json()["detail"]]}


def test_a_nul_in_an_invitation_note_is_refused_on_the_page_and_in_the_api(staff_user, study_factory):
    study_factory("paper", status="open")
    client = Client()
    client.force_login(staff_user)
    page = client.post("/studies/paper/readers/", {"action": "invite", "note": "for Dr\x00 Who"})
    assert page.status_code == 400 and "form field 'note'" in page.content.decode()
    api = client.post("/api/studies/paper/invitations/", {"note": "for Dr\x00 Who"}, content_type="application/json")
    assert api.status_code == 400 and "note" in api.json()["errors"]
    assert not Invitation.objects.exists()


def test_a_nul_in_a_login_form_is_a_clear_400_not_a_500(db):
    response = Client().post("/accounts/login/", {"username": "admin\x00", "password": "x"})
    assert response.status_code == 400 and "form field 'username'" in response.content.decode()
