"""The import service: cases from a good zip, provenance for admins, all or nothing, refusals and idempotency."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from readerstudy.batches import services
from readerstudy.batches.models import Batch
from readerstudy.batches.normalise import png_chunk_types
from readerstudy.batches.selectors import study_composition
from readerstudy.batches.services import BatchRejected, batch_create, batch_delete, batch_import
from readerstudy.studies.models import Case
from tests.factories import make_batch_zip, make_manifest, make_png, make_zip

pytestmark = pytest.mark.django_db


def create(study, data: bytes, name: str = "batch.zip", user=None) -> Batch:
    return batch_create(study=study, archive_file=io.BytesIO(data), original_name=name, uploaded_by=user,
                        enqueue=False)


def media_files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def test_a_good_zip_becomes_one_case_per_row(study_factory, staff_user):
    study = study_factory()
    batch = batch_import(batch=create(study, make_batch_zip(size=256), user=staff_user))
    assert (batch.status, batch.cases_created, batch.rows_total, batch.rows_done) == ("done", 4, 4, 4)
    assert batch.errors == [] and batch.started_at <= batch.finished_at
    assert batch.uploaded_by == staff_user
    assert sorted(Case.objects.values_list("finding__slug", "source__slug")) == [
        ("atelectasis", "pix2pix"), ("atelectasis", "real"), ("effusion", "real"), ("effusion", "stargan")]


def test_stored_images_are_normalised_pngs_under_random_names(study_factory):
    study = study_factory()
    batch_import(batch=create(study, make_batch_zip(size=300)))
    for case in Case.objects.all():
        with case.image.open("rb") as stored:
            data = stored.read()
        assert set(png_chunk_types(data)) == {b"IHDR", b"IDAT", b"IEND"}
        assert Image.open(io.BytesIO(data)).size == (224, 224)
        assert "img_" not in case.image.name and case.image.name.startswith("cases/")
        import hashlib

        assert case.pixel_sha256 == hashlib.sha256(data).hexdigest()


def test_provenance_keeps_the_original_hash_and_manifest_row(study_factory):
    import hashlib

    original = make_png(size=400, seed=42)
    row = {"filename": "x.png", "finding": "cardiomegaly", "source": "PIX2PIX-N", "origin_image": "00000001_000.png",
           "bbox_x": 100, "bbox_y": 40, "bbox_w": 200, "bbox_h": 100, "notes": "from run 7"}
    batch_import(batch=create(study_factory(), make_zip({"manifest.csv": make_manifest([row]), "x.png": original})))
    case = Case.objects.get()
    assert (case.finding.slug, case.source.slug) == ("cardiomegaly", "pix2pix-n")  # matched case-insensitively
    assert case.provenance["original_sha256"] == hashlib.sha256(original).hexdigest()
    assert case.provenance["original_filename"] == "x.png" and case.provenance["manifest_row"] == 2
    assert case.provenance["origin_image"] == "00000001_000.png"
    assert case.provenance["manifest"]["notes"] == "from run 7"
    assert case.provenance["bbox"] == [100, 40, 200, 100]
    assert case.provenance["bbox_224"] == [56.0, 22.4, 112.0, 56.0]


def test_origin_seen_is_stored_on_each_case_and_in_its_provenance(study_factory):
    rows = [{"filename": "a.png", "finding": "Effusion", "source": "Pix2Pix", "origin_seen": "seen"},
            {"filename": "b.png", "finding": "Effusion", "source": "Pix2Pix-N", "origin_seen": "unseen"},
            {"filename": "c.png", "finding": "Effusion", "source": "Real", "origin_seen": "Unseen"},
            {"filename": "d.png", "finding": "Effusion", "source": "StarGAN", "origin_seen": ""}]
    files = {f"{name}.png": make_png(seed=seed) for seed, name in enumerate("abcd")}
    batch_import(batch=create(study_factory(), make_zip({"manifest.csv": make_manifest(rows), **files})))
    stored = {case.provenance["original_filename"]: (case.origin_seen, case.provenance["origin_seen"])
              for case in Case.objects.all()}
    assert stored == {"a.png": (True, True), "b.png": (False, False), "c.png": (False, False), "d.png": (None, None)}


def test_an_older_manifest_without_origin_seen_imports_with_it_empty(study_factory):
    rows = [{"filename": "a.png", "finding": "Effusion", "source": "Pix2Pix"}]
    data = make_zip({"manifest.csv": make_manifest(rows), "a.png": make_png(seed=1)})
    assert b"origin_seen" not in make_manifest(rows)
    batch_import(batch=create(study_factory(), data))
    assert Case.objects.get().origin_seen is None


def test_a_bad_origin_seen_value_is_refused_naming_the_row_and_the_values_allowed(study_factory):
    rows = [{"filename": "a.png", "finding": "Effusion", "source": "Pix2Pix", "origin_seen": "yes"}]
    data = make_zip({"manifest.csv": make_manifest(rows), "a.png": make_png(seed=1)})
    batch = batch_import(batch=create(study_factory(), data))
    assert batch.status == "failed" and not Case.objects.exists()
    assert any("origin_seen is 'yes'; write seen, unseen or leave it empty" in e["message"] and e["row"] == 2
               for e in batch.errors)


@pytest.mark.parametrize(("bom", "crlf"), [(True, False), (False, True), (True, True)])
def test_manifest_with_bom_or_crlf_is_read(study_factory, bom, crlf):
    batch = batch_import(batch=create(study_factory(), make_batch_zip(bom=bom, crlf=crlf)))
    assert batch.status == "done" and batch.cases_created == 4


def test_a_zip_with_one_top_folder_is_accepted(study_factory):
    rows = [{"filename": "a.png", "finding": "Effusion", "source": "Real"}]
    data = make_zip({"batch7/manifest.csv": make_manifest(rows), "batch7/a.png": make_png(seed=3)})
    assert batch_import(batch=create(study_factory(), data)).cases_created == 1


def test_provenance_json_is_kept_as_the_batch_audit(study_factory):
    audit = {"images": [{"filename": "img_000.png", "box_identical": True, "max_abs_diff_in_box": 0}],
             "quality": {"pix2pix": {"ssim": 0.81}}}
    data = make_batch_zip(extra={"provenance.json": json.dumps(audit).encode()})
    batch = batch_import(batch=create(study_factory(), data))
    assert batch.status == "done" and batch.audit == audit


def test_the_same_zip_twice_is_refused_naming_the_earlier_batch(study_factory, settings):
    study = study_factory()
    data = make_batch_zip()
    first = batch_import(batch=create(study, data, name="first.zip"))
    with pytest.raises(BatchRejected, match=f"already uploaded to this study as batch {first.pk} \\('first.zip'\\)"):
        create(study, data, name="again.zip")
    assert Batch.objects.count() == 1


def test_the_same_zip_may_go_to_another_study_and_may_retry_after_a_failure(study_factory):
    data = make_batch_zip()
    assert batch_import(batch=create(study_factory("one"), data)).status == "done"
    assert batch_import(batch=create(study_factory("two"), data)).status == "done"
    study = study_factory("three", status="draft")
    failed = create(study, data)
    Batch.objects.filter(pk=failed.pk).update(status="failed")
    assert create(study, data).pk != failed.pk


@pytest.mark.parametrize("status", ["open", "paused", "closed"])
def test_a_batch_cannot_be_added_to_a_study_that_is_not_a_draft(study_factory, settings, status):
    study = study_factory(status=status)
    with pytest.raises(BatchRejected, match="only be added while a study is a draft"):
        create(study, make_batch_zip())
    assert not Batch.objects.exists() and media_files(settings) == set()


def test_a_study_opened_while_its_batch_waits_fails_the_import(study_factory, settings):
    study = study_factory()
    batch = create(study, make_batch_zip())
    study.status = "open"
    study.save()
    batch = batch_import(batch=batch)
    assert batch.status == "failed" and "only be added while a study is a draft" in batch.failure_reason
    assert not Case.objects.exists() and media_files(settings) == set()


def test_a_failure_half_way_through_writing_leaves_no_case_and_no_file(study_factory, settings, monkeypatch):
    study = study_factory()
    batch = create(study, make_batch_zip([("Atelectasis", "Real")] * 5))
    real_save, calls = default_storage.save, []

    def save_failing_on_the_third(name, content, *args, **kwargs):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full (injected)")
        return real_save(name, content, *args, **kwargs)

    monkeypatch.setattr(default_storage, "save", save_failing_on_the_third)
    batch = batch_import(batch=batch)
    assert len(calls) == 3
    assert batch.status == "failed" and "disk full (injected)" in batch.failure_reason
    assert not Case.objects.exists()
    assert media_files(settings) == set()  # the two written images and the archive are gone
    assert Batch.objects.get(pk=batch.pk).staged_files == []


def test_a_database_failure_when_creating_cases_leaves_no_case_and_no_file(study_factory, settings, monkeypatch):
    batch = create(study_factory(), make_batch_zip())

    def bulk_create_failing(*args, **kwargs):
        raise RuntimeError("database went away (injected)")

    monkeypatch.setattr(Case.objects, "bulk_create", bulk_create_failing)
    batch = batch_import(batch=batch)
    assert batch.status == "failed" and "database went away" in batch.failure_reason
    assert not Case.objects.exists() and media_files(settings) == set()


def test_rerunning_a_finished_batch_does_nothing(study_factory):
    batch = batch_import(batch=create(study_factory(), make_batch_zip()))
    finished_at = batch.finished_at
    again = batch_import(batch=batch)
    assert again.status == "done" and again.finished_at == finished_at and Case.objects.count() == 4


def test_rerunning_a_batch_left_running_by_a_crash_cleans_up_and_restarts(study_factory, settings):
    batch = create(study_factory(), make_batch_zip())
    orphan = default_storage.save("cases/orphan-from-crash.png", io.BytesIO(make_png(seed=99)))
    Batch.objects.filter(pk=batch.pk).update(status="running", staged_files=[orphan])
    batch = batch_import(batch=Batch.objects.get(pk=batch.pk))
    assert batch.status == "done" and batch.cases_created == 4
    assert not default_storage.exists(orphan)
    assert media_files(settings) == {case.image.name for case in Case.objects.all()} | {batch.archive.name}


def test_a_failed_batch_keeps_every_error_and_a_reason(study_factory):
    rows = [{"filename": "a.png", "finding": "Nope", "source": "Real"},
            {"filename": "b.png", "finding": "Effusion", "source": "Nope"}]
    data = make_zip({"manifest.csv": make_manifest(rows), "a.png": make_png(seed=1), "b.png": make_png(seed=2)})
    batch = batch_import(batch=create(study_factory(), data))
    assert batch.status == "failed" and "2 problem(s)" in batch.failure_reason
    assert [(error["file"], error["row"]) for error in batch.errors] == [("a.png", 2), ("b.png", 3)]


def test_composition_counts_cases_by_finding_and_source_and_warns_off_the_paper_design(study_factory):
    study = study_factory()
    batch_import(batch=create(study, make_batch_zip()))
    composition = study_composition(study)
    assert composition.count("atelectasis", "real") == 1 and composition.count("pneumonia", "stargan") == 0
    assert composition.total == 4 and [f.slug for f in composition.findings][0] == "atelectasis"
    assert any("paper's design has 600" in warning for warning in composition.warnings)


def test_composition_of_the_paper_design_has_no_warning(study_factory, case_factory):
    from readerstudy.studies.models import Finding, Source

    study = study_factory()
    seed = 0
    for finding in Finding.objects.all():
        for source in Source.objects.all():
            for _ in range(25):
                seed += 1
                png = Image.fromarray(np.full((4, 4), seed % 256, dtype=np.uint8))
                buffer = io.BytesIO()
                png.save(buffer, format="PNG", compress_level=seed // 256)
                case_factory(study, finding=finding.slug, source=source.slug, png=buffer.getvalue())
    assert study_composition(study).warnings == []


def test_a_batch_can_be_removed_from_a_draft_study_with_its_files(study_factory, settings):
    study = study_factory()
    batch = batch_import(batch=create(study, make_batch_zip()))
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        batch_delete(batch=batch)
    assert not Case.objects.exists() and not Batch.objects.exists()
    assert media_files(settings) == set()


def test_a_batch_cannot_be_removed_from_an_open_study(study_factory):
    study = study_factory()
    batch = batch_import(batch=create(study, make_batch_zip()))
    study.status = "open"
    study.save()
    with pytest.raises(BatchRejected, match="only be removed while a study is a draft"):
        batch_delete(batch=batch)
    assert Case.objects.count() == 4


def test_progress_is_written_while_validating(study_factory, monkeypatch):
    seen = []
    real = services._ProgressWriter.__call__

    def spy(self, done, total):
        seen.append((done, total))
        real(self, done, total)

    monkeypatch.setattr(services._ProgressWriter, "__call__", spy)
    batch_import(batch=create(study_factory(), make_batch_zip()))
    assert seen[-1] == (4, 4) and [done for done, _ in seen] == [1, 2, 3, 4]


def test_a_generated_set_made_with_another_crop_margin_than_the_studys_is_refused(study_factory):
    audit = {"kind": "verification-set", "pipeline": {"crop_margin": 0.0625}, "images": []}
    data = make_batch_zip(extra={"provenance.json": json.dumps(audit).encode()})
    batch = batch_import(batch=create(study_factory("cropped", crop_margin=0.1), data))
    assert batch.status == "failed" and batch.cases_created == 0
    assert any("generated (and its boxes audited) with crop margin 0.0625, but this study crops 0.1" in e["message"]
               for e in batch.errors)
    same = batch_import(batch=create(study_factory("same", crop_margin=0.0625), data))
    assert same.status == "done"
