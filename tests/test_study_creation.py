"""Creating a study complete, from the New study page, the API or the command (one service): its creator
administers it, its findings and sources are those asked (default: all), its protocol is stored, and the first valid
upload succeeds. Bad input is refused naming the problem, and nothing is half-created."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from readerstudy.batches.models import Batch
from readerstudy.reading.models import StudyProtocol
from readerstudy.studies.models import AuditEntry, Finding, Source, Study, StudyAdministrator
from tests import factories


@pytest.fixture
def admin_page(staff_user):
    factories.ensure_findings_and_sources()
    client = Client()
    client.force_login(staff_user)
    return client


def page_form(**changes) -> dict:
    form = {"name": "Chest X-ray realism", "slug": "", "description": "", "practice_count": 0, "repeat_percent": 0,
            "exposure_mode": "off", "findings": [f.slug for f in Finding.objects.all()],
            "sources": [s.slug for s in Source.objects.all()], "ask_confidence": "on"}
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def test_the_home_page_offers_new_study_to_staff(admin_page):
    assert 'id="new-study-link"' in admin_page.get("/").content.decode()


def test_the_new_study_page_defaults_to_the_papers_findings_and_sources(admin_page):
    text = admin_page.get("/new-study/").content.decode()
    for name in ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia", "Pneumothorax"):
        assert f'value="{name.lower()}"' in text
    for slug in ("real", "stargan", "pix2pix", "pix2pix-n"):
        assert f'value="{slug}"' in text
    assert text.count("checked") >= 10


def test_a_study_made_in_the_page_is_complete_and_takes_its_first_upload(admin_page, staff_user,
                                                                          django_capture_on_commit_callbacks):
    created = admin_page.post("/new-study/", page_form(repeat_percent=10))
    assert created.status_code == 302 and created["Location"] == "/studies/chest-x-ray-realism/"
    study = Study.objects.get(slug="chest-x-ray-realism")
    assert study.ask_confidence and study.status == "draft"
    assert study.findings.count() == 6 and study.sources.count() == 4
    assert list(StudyAdministrator.objects.filter(study=study).values_list("user__username", flat=True)) == ["admin"]
    assert StudyProtocol.objects.get(study=study).repeat_percent == 10

    upload = SimpleUploadedFile("batch.zip", factories.make_batch_zip(), content_type="application/zip")
    with django_capture_on_commit_callbacks(execute=True):
        admin_page.post(f"/studies/{study.slug}/batches/", {"archive": upload})
    batch = Batch.objects.get(study=study)
    assert batch.status == "done" and batch.cases_created > 0


def test_the_slug_is_editable(admin_page):
    admin_page.post("/new-study/", page_form(slug="my-study"))
    assert Study.objects.filter(slug="my-study").exists()


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": "  "}, "name", "needs a name"),
    ({"slug": "paper"}, "slug", "exists already"),
    ({"findings": None}, "findings", "at least one finding"),
    ({"sources": None}, "sources", "at least one source"),
    ({"sources": ["stargan"]}, "sources", "real source too"),
    ({"exposure_mode": "fixed"}, "exposure_ms", "needs an exposure"),
    ({"admins": "nobody-here"}, "admins", "not an active staff account"),
])
def test_bad_input_is_refused_naming_the_problem_and_nothing_is_stored(admin_page, study_factory, changes, field,
                                                                        message):
    study_factory("paper")
    before = (Study.objects.count(), StudyProtocol.objects.count(), StudyAdministrator.objects.count(),
              AuditEntry.objects.count())
    response = admin_page.post("/new-study/", page_form(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert (Study.objects.count(), StudyProtocol.objects.count(), StudyAdministrator.objects.count(),
            AuditEntry.objects.count()) == before


def test_the_api_creates_the_same_study_and_returns_its_detail(staff_api):
    factories.ensure_findings_and_sources()
    created = staff_api.post("/api/studies/", {"name": "Lung study", "sources": ["real", "pix2pix"],
                                               "findings": ["effusion"], "ask_confidence": True, "practice_count": 2},
                             format="json")
    assert created.status_code == 201
    detail = staff_api.get("/api/studies/lung-study/").json()
    assert detail == created.json()
    assert [f["slug"] for f in detail["findings"]] == ["effusion"]
    assert [s["slug"] for s in detail["sources"]] == ["real", "pix2pix"]
    assert detail["status"] == "draft" and detail["admins"] == ["admin"]
    assert detail["protocol"]["practice_count"] == 2 and detail["protocol"]["ask_confidence"] is True


def test_the_api_refuses_an_existing_slug_and_a_study_without_sources(staff_api, study_factory):
    study_factory("paper")
    taken = staff_api.post("/api/studies/", {"name": "Paper", "slug": "paper"}, format="json")
    assert taken.status_code == 400 and "slug" in taken.json()["errors"]
    empty = staff_api.post("/api/studies/", {"name": "Other", "sources": []}, format="json")
    assert empty.status_code == 400 and "sources" in empty.json()["errors"]
    assert list(Study.objects.values_list("slug", flat=True)) == ["paper"]


def test_the_command_shares_the_service(staff_user):
    factories.ensure_findings_and_sources()
    call_command("create_study", "cmd-study", "--name", "Command", "--sources", "real,stargan", "--as", "admin")
    study = Study.objects.get(slug="cmd-study")
    assert list(study.sources.values_list("slug", flat=True)) == ["real", "stargan"]
    assert StudyProtocol.objects.filter(study=study).exists()
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_study", "cmd-study", "--name", "Again")
    with pytest.raises(CommandError, match="at least one finding"):
        call_command("create_study", "no-findings", "--name", "None", "--findings", "")
    assert not Study.objects.filter(slug="no-findings").exists()


def test_readers_cannot_create_studies(reader_factory, study_factory):
    reader = reader_factory(study_factory("paper"), username="reader").user
    client = Client()
    client.force_login(reader)
    assert client.get("/new-study/").status_code == 403
    assert 'id="new-study-link"' not in client.get("/").content.decode()
