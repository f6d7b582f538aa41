"""Batch pages and API: staff only (readers and strangers get 404), upload returns 202, status JSON, composition."""
from __future__ import annotations

import io
import json
import re

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from readerstudy.batches.models import Batch
from readerstudy.batches.services import batch_create, batch_import
from readerstudy.studies.models import Case
from tests.factories import make_batch_zip, make_manifest, make_png, make_zip

pytestmark = pytest.mark.django_db


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/zip")


def imported_batch(study, data=None, audit=None) -> Batch:
    extra = {"provenance.json": json.dumps(audit).encode()} if audit else None
    data = data or make_batch_zip(extra=extra)
    return batch_import(batch=batch_create(study=study, archive_file=io.BytesIO(data), original_name="b.zip",
                                           enqueue=False))


@pytest.fixture
def staff_api(staff_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    return client


def page_urls(study, batch):
    return [reverse("batch_list", args=[study.slug]), reverse("batch_detail", args=[study.slug, batch.pk]),
            reverse("api_batch_list", args=[study.slug]), reverse("api_batch_detail", args=[study.slug, batch.pk])]


def test_readers_get_404_on_every_batch_page_and_endpoint(client, study_factory, reader_factory):
    study = study_factory()
    batch = imported_batch(study)
    client.force_login(reader_factory(study).user)
    for url in page_urls(study, batch):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("api_batch_list", args=[study.slug]), {"archive": upload("x.zip", b"x")}
                       ).status_code == 404
    assert client.post(reverse("batch_delete", args=[study.slug, batch.pk])).status_code == 404
    assert Batch.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in_or_refused(client, study_factory):
    study = study_factory()
    batch = imported_batch(study)
    pages, apis = page_urls(study, batch)[:2], page_urls(study, batch)[2:]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    for url in apis:
        assert client.get(url).status_code in (401, 403)


def test_staff_see_every_batch_page_and_endpoint(client, study_factory, staff_user):
    study = study_factory()
    batch = imported_batch(study)
    client.force_login(staff_user)
    for url in page_urls(study, batch):
        assert client.get(url).status_code == 200, url


def test_a_study_that_does_not_exist_is_404_for_staff(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("batch_list", args=["nope"])).status_code == 404


def test_api_upload_answers_202_with_the_batch_and_imports_it(staff_api, study_factory, staff_user,
                                                             django_capture_on_commit_callbacks):
    study = study_factory()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post(reverse("api_batch_list", args=[study.slug]),
                                  {"archive": upload("gen.zip", make_batch_zip())}, format="multipart")
    assert response.status_code == 202
    body = response.json()
    assert body["original_name"] == "gen.zip" and body["uploaded_by"] == "admin" and len(body["zip_sha256"]) == 64
    status = staff_api.get(body["api_url"]).json()
    assert status["status"] == "done" and status["cases_created"] == 4 and status["finished"] is True
    assert Case.objects.filter(study=study).count() == 4


def test_api_upload_without_a_file_names_the_field(staff_api, study_factory):
    response = staff_api.post(reverse("api_batch_list", args=[study_factory().slug]), {}, format="multipart")
    assert response.status_code == 400 and "archive" in response.json()["errors"]


def test_api_upload_to_an_open_study_is_refused(staff_api, study_factory):
    study = study_factory(status="open")
    response = staff_api.post(reverse("api_batch_list", args=[study.slug]),
                              {"archive": upload("a.zip", make_batch_zip())}, format="multipart")
    assert response.status_code == 400 and "draft" in response.json()["detail"]
    assert not Batch.objects.exists()


def test_api_upload_of_the_same_zip_names_the_earlier_batch(staff_api, study_factory):
    study = study_factory()
    data = make_batch_zip()
    earlier = imported_batch(study, data)
    response = staff_api.post(reverse("api_batch_list", args=[study.slug]), {"archive": upload("again.zip", data)},
                              format="multipart")
    assert response.status_code == 400 and f"batch {earlier.pk}" in response.json()["detail"]


def test_the_list_page_shows_the_form_the_composition_and_its_warning(client, study_factory, staff_user):
    study = study_factory()
    imported_batch(study)
    client.force_login(staff_user)
    html = client.get(reverse("batch_list", args=[study.slug])).content.decode()
    assert 'id="batch-upload"' in html and 'type="file"' in html and 'name="archive"' in html
    assert 'id="composition"' in html and "Pix2Pix-N" in html and "Pneumothorax" in html
    assert "differs from the paper's design" in html
    assert re.search(r'id="composition-total">4<', html)


def test_the_list_page_links_to_generate_and_import(client, study_factory, staff_user):
    study = study_factory()
    client.force_login(staff_user)
    html = client.get(reverse("batch_list", args=[study.slug])).content.decode()
    generate = reverse("generation_jobs", args=[study.slug])
    assert f'href="{generate}" id="generate-link"' in html
    assert client.get(generate).status_code == 200


def test_the_list_page_of_an_open_study_has_no_upload_form(client, study_factory, staff_user):
    study = study_factory(status="open")
    client.force_login(staff_user)
    html = client.get(reverse("batch_list", args=[study.slug])).content.decode()
    assert 'id="batch-upload"' not in html and "can only be added or removed while it is a draft" in html


def test_pages_carry_no_inline_script(client, study_factory, staff_user):
    study = study_factory()
    batch = imported_batch(study)
    client.force_login(staff_user)
    for url in page_urls(study, batch)[:2]:
        html = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) and " on" + "click=" not in html


def test_the_form_upload_without_javascript_redirects_to_the_batch(client, study_factory, staff_user,
                                                                  django_capture_on_commit_callbacks):
    study = study_factory()
    client.force_login(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("batch_list", args=[study.slug]), {"archive": upload("f.zip", make_batch_zip())})
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("batch_detail", args=[study.slug, batch.pk])
    batch.refresh_from_db()
    assert batch.status == "done"


def test_the_batch_page_shows_every_row_error(client, study_factory, staff_user):
    study = study_factory()
    rows = [{"filename": "a.png", "finding": "Mass", "source": "Real"}]
    batch = imported_batch(study, make_zip({"manifest.csv": make_manifest(rows), "a.png": make_png(seed=1)}))
    client.force_login(staff_user)
    html = client.get(reverse("batch_detail", args=[study.slug, batch.pk])).content.decode()
    assert "Failed" in html and "unknown finding &#x27;Mass&#x27;" in html and 'id="batch-errors"' in html
    assert batch.zip_sha256 in html


def test_the_batch_page_shows_the_generation_audit(client, study_factory, staff_user):
    study = study_factory()
    audit = {"images": [{"filename": "img_000.png", "box_identical": True, "max_abs_diff_in_box": 0, "ssim": 0.8},
                        {"filename": "img_001.png", "box_identical": False, "max_abs_diff_in_box": 3}],
             "quality": {"pix2pix": {"atelectasis": {"ssim": 0.81, "psnr": 27.5}}}, "seed": 7}
    batch = imported_batch(study, audit=audit)
    client.force_login(staff_user)
    html = client.get(reverse("batch_detail", args=[study.slug, batch.pk])).content.decode()
    assert "identical to the real image:\n      1 of 2" in html and "largest absolute difference in a box: 3" in html
    assert 'id="audit-quality"' in html  # the summary as a findings x sources table, not a flat list of figures
    assert "pix2pix / atelectasis / psnr" not in html and "PSNR <strong>27.5</strong>" in html
    assert 'id="audit-images"' not in html  # the per-image records are behind a link
    records = client.get(reverse("batch_audit_records", args=[study.slug, batch.pk])).content.decode()
    assert 'id="audit-images"' in records and "img_001.png" in records


def test_a_running_batch_page_polls_its_status_url(client, study_factory, staff_user):
    study = study_factory()
    batch = batch_create(study=study, archive_file=io.BytesIO(make_batch_zip()), original_name="q.zip", enqueue=False)
    client.force_login(staff_user)
    html = client.get(reverse("batch_detail", args=[study.slug, batch.pk])).content.decode()
    assert 'data-in-progress="true"' in html
    assert f'data-status-url="{reverse("api_batch_detail", args=[study.slug, batch.pk])}"' in html
    assert "js/batch_upload.js" in html


def test_staff_can_remove_a_batch_from_a_draft_study(client, study_factory, staff_user,
                                                     django_capture_on_commit_callbacks):
    study = study_factory()
    batch = imported_batch(study)
    client.force_login(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("batch_delete", args=[study.slug, batch.pk]))
    assert response.status_code == 302 and not Case.objects.exists() and not Batch.objects.exists()


def test_the_batch_page_shows_the_per_cell_plan_of_a_generated_set(client, study_factory, staff_user):
    study = study_factory()
    cells = [{"source": source, "finding": "Effusion", "origins": 25, "seen": seen, "unseen": 25 - seen,
              "multi_label": 3, "PA": 15, "AP": 10} for source, seen in (("Pix2Pix", 8), ("Pix2Pix-N", 8))]
    audit = {"plan": {"pairing": "matched", "per_cell": 25, "cells": cells}, "inference": {"mode": "deterministic"},
             "images": []}
    batch = imported_batch(study, audit=audit)
    client.force_login(staff_user)
    html = client.get(reverse("batch_detail", args=[study.slug, batch.pk])).content.decode()
    assert 'id="plan-cells"' in html and "<strong>matched</strong> pairing" in html
    assert ('<td>Pix2Pix-N</td><td>Effusion</td><td class="num">25</td><td class="num">8</td>'
            '<td class="num">17</td>') in html
    assert "saw as many of their origins in every finding." in html


def test_the_batch_page_shows_box_area_patients_and_the_plans_notes(client, study_factory, staff_user):
    study = study_factory()
    cells = [{"source": "Real", "finding": "Effusion", "origins": 25, "seen": 0, "unseen": 25, "mean_box_area": None,
              "multi_label": 20, "PA": 12, "AP": 13, "patients": 23},
             {"source": "Pix2Pix", "finding": "Effusion", "origins": 25, "seen": 15, "unseen": 10,
              "mean_box_area": 7.02, "multi_label": 22, "PA": 12, "AP": 13, "patients": 24}]
    notes = [{"finding": "Effusion", "source": "Real", "constraint": "label mix (PA)", "needed": 12, "found": 10,
              "filled_with": "2 single-label"}]
    audit = {"plan": {"pairing": "disjoint", "per_cell": 25, "area_tolerance": 0.25, "cells": cells, "notes": notes,
                      "patients": {"patients_under_two_sources": 0, "real_and_generator": 0}}, "images": []}
    batch = imported_batch(study, audit=audit)
    client.force_login(staff_user)
    html = client.get(reverse("batch_detail", args=[study.slug, batch.pk])).content.decode()
    assert "box areas within 25%" in html
    assert ('<td>Pix2Pix</td><td>Effusion</td><td class="num">25</td><td class="num">15</td><td class="num">10</td>'
            '<td class="num">7.02</td><td class="num">22</td><td class="num">12</td><td class="num">13</td>'
            '<td class="num">24</td>') in html
    assert '<td class="num">–</td><td class="num">20</td>' in html  # Real has no box
    assert "Patients under more than one source: <strong>0</strong>" in html
    assert "Effusion / Real: label mix (PA) met for 10 of 12, filled with 2 single-label." in html
