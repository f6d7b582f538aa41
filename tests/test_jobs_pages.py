"""The staff pages to start a generate-and-import job and watch it; hidden (404) from everyone else."""
from __future__ import annotations

import pytest
from django.db import connection

from readerstudy.jobs.models import GenerationJob
from tests.generation.tiny_world import KINDS


@pytest.fixture
def checkpoint_root(settings, tmp_path):
    root = tmp_path / "runs"
    for kind in KINDS:
        (root / kind / "checkpoints").mkdir(parents=True)
        (root / kind / "checkpoints" / "last.pt").write_bytes(b"chosen, not read, by the page")
    settings.GENERATION_CHECKPOINT_ROOT = root
    return root


def test_staff_sees_the_form_with_each_kinds_checkpoint_preselected(client, staff_user, study_factory,
                                                                     checkpoint_root):
    study = study_factory("gen")
    client.force_login(staff_user)
    response = client.get(f"/studies/{study.slug}/generate/")
    assert response.status_code == 200
    form = response.context["form"]
    assert form["pix2pix-n"].initial == str(checkpoint_root / "pix2pix-n" / "checkpoints" / "last.pt")
    assert form["pix2pix"].initial == str(checkpoint_root / "pix2pix" / "checkpoints" / "last.pt")


def test_posting_the_form_queues_a_job_and_shows_it(client, staff_user, study_factory, checkpoint_root,
                                                    django_capture_on_commit_callbacks, monkeypatch):
    from readerstudy.jobs import tasks

    queued = []
    monkeypatch.setattr(tasks.generate_and_import_task, "delay", queued.append)
    study = study_factory("gen")
    client.force_login(staff_user)
    paths = {kind: str(checkpoint_root / kind / "checkpoints" / "last.pt") for kind in KINDS}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/studies/{study.slug}/generate/", {**paths, "per_cell": 3, "seed": 4})
    job = GenerationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/studies/gen/generate/{job.pk}/"
    assert queued == [job.pk] and job.checkpoints == paths and job.per_cell == 3 and job.created_by == staff_user
    page = client.get(response["Location"])
    assert b"Queued" in page.content and b'http-equiv="refresh"' in page.content


def test_a_path_outside_the_checkpoint_folder_is_not_accepted(client, staff_user, study_factory, checkpoint_root):
    study = study_factory("gen")
    client.force_login(staff_user)
    paths = {kind: str(checkpoint_root / kind / "checkpoints" / "last.pt") for kind in KINDS}
    response = client.post(f"/studies/{study.slug}/generate/", {**paths, "stargan": "/etc/passwd", "per_cell": 2,
                                                                "seed": 0})
    assert response.status_code == 200 and "stargan" in response.context["form"].errors
    assert not GenerationJob.objects.exists()


def test_status_json_reports_progress(client, staff_user, study_factory):
    study = study_factory("gen")
    job = GenerationJob.objects.create(study=study, data_dir="/data", checkpoints={}, status="running",
                                       progress_done=12, progress_total=600, stage="generating")
    client.force_login(staff_user)
    body = client.get(f"/studies/gen/generate/{job.pk}/status/").json()
    assert (body["status"], body["progress_done"], body["progress_total"], body["batch"]) == (
        "running", 12, 600, None)


@pytest.mark.parametrize("path", ["/studies/gen/generate/", "/studies/gen/generate/{job}/",
                                  "/studies/gen/generate/{job}/status/"])
def test_readers_get_404(client, study_factory, reader_factory, path):
    study = study_factory("gen")
    job = GenerationJob.objects.create(study=study, data_dir="/data", checkpoints={})
    membership = reader_factory(study)
    client.force_login(membership.user)
    assert client.get(path.format(job=job.pk)).status_code == 404


def test_anonymous_is_sent_to_login(client, study_factory):
    study_factory("gen")
    response = client.get("/studies/gen/generate/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    from tests.generation.tiny_world import make_phantom_data, make_tiny_checkpoints

    data = make_phantom_data(tmp_path_factory.mktemp("data"))
    runs = tmp_path_factory.mktemp("runs")
    return data, runs, make_tiny_checkpoints(data, runs)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite",
                    reason="the in-memory test database (SQLite shared cache) refuses a table another thread is "
                           "reading at once (SQLITE_LOCKED, no busy wait), unlike the embedded default's file; CI "
                           "runs this on PostgreSQL")
def test_without_a_broker_the_form_returns_at_once_and_the_job_page_follows_the_job(client, staff_user,
                                                                                    study_factory, tiny_world,
                                                                                    settings):
    """The default set-up (no broker): the job runs in a background thread, not in the request that started it, so
    the job page sees it queued or running, then its progress, then done with its batch."""
    import time

    data, runs, checkpoints = tiny_world
    settings.GENERATION_RUN_IN_THREAD = True
    settings.GENERATION_CHECKPOINT_ROOT, settings.GENERATION_DATA_DIR = runs, data
    study = study_factory("gen")
    client.force_login(staff_user)
    assert "runs in the background of this web server" in client.get("/studies/gen/generate/").content.decode()
    response = client.post("/studies/gen/generate/", {**{kind: str(path) for kind, path in checkpoints.items()},
                                                      "per_cell": 2, "seed": 0})
    job = GenerationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/studies/gen/generate/{job.pk}/"
    seen = [client.get(f"/studies/gen/generate/{job.pk}/status/").json()]
    assert seen[0]["status"] in ("queued", "running")  # the request did not wait for the job
    assert b'http-equiv="refresh"' in client.get(response["Location"]).content  # the page keeps polling
    deadline = time.monotonic() + 240
    while seen[-1]["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        seen.append(client.get(f"/studies/gen/generate/{job.pk}/status/").json())
    assert seen[-1]["status"] == "done" and seen[-1]["progress_done"] == seen[-1]["progress_total"] == 48
    assert seen[-1]["batch"]["cases_created"] == 48 and study.cases.count() == 48
    assert any(state["status"] == "running" for state in seen)  # polled while it ran, not only at the end
