"""`manage.py demo`'s whole chain at a reduced size: phantom data, three trained generators, the verification set,
an open demo study with its readers; and a second run that reuses every stage."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from readerstudy.batches.models import Batch
from readerstudy.demo.chain import DemoConfig, run_demo
from readerstudy.demo.names import DEMO_SLUG
from readerstudy.reading.models import Vote
from readerstudy.studies.models import Membership, Study

LOGINS = [("demo-admin", "admin-pass-123", True), ("demo-r1", "reader-pass-1", False),
          ("demo-r2", "reader-pass-2", False)]
SMALL = dict(phantom_disease=96, phantom_healthy=40, phantom_labelled=240, phantom_size=64, per_cell=2, iters=2,
             image_size=32, device="cpu")


@pytest.fixture
def small_threads():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_demo_command_builds_an_open_study_and_prints_the_logins(db, tmp_path, small_threads):
    out = io.StringIO()
    call_command("demo", workdir=tmp_path / "demo", per_cell=2, iters=2, image_size=32, phantom_disease=96,
                 phantom_labelled=240, phantom_healthy=40, device="cpu", stdout=out)
    study = Study.objects.get(slug=DEMO_SLUG)
    assert study.status == Study.Status.OPEN and study.cases.count() == 48
    assert sorted(m.user.username for m in Membership.objects.filter(study=study)) == ["reader1", "reader2"]
    text = out.getvalue()
    assert "is open with 48 images" in text and "reader1" in text and "admin" in text
    assert list(study.administrators.values_list("user__username", flat=True)) == ["admin"]
    plan = study.analysis_plan  # the demo's question, registered before it opened
    assert (plan.endpoint, plan.test, plan.margin) == ("called_real", "non_inferiority", 0.10)
    for kind in ("pix2pix", "pix2pix-n", "stargan"):
        assert (tmp_path / "demo" / "runs" / kind / "checkpoints" / "last.pt").is_file()


def test_second_run_reuses_every_stage(db, tmp_path, small_threads):
    config = DemoConfig(workdir=tmp_path, **SMALL)
    first = run_demo(config, LOGINS, say=lambda _: None)
    second = run_demo(config, LOGINS, say=lambda _: None)
    assert second.reused == ["data", "train pix2pix", "train pix2pix-n", "train stargan", "verification set", "study"]
    assert second.study.pk == first.study.pk and Batch.objects.count() == 1



def test_the_demos_stargan_cases_carry_their_origins_for_the_change_map(db, tmp_path, small_threads):
    from readerstudy.results.marks import case_change_map, study_marks

    study = run_demo(DemoConfig(workdir=tmp_path, **SMALL), LOGINS, say=lambda _: None).study
    origins = list(study.cases.filter(source__slug="stargan").values_list("origin_file", flat=True))
    assert len(origins) == 12 and all(origins)
    assert not any(study.cases.exclude(source__slug="stargan").values_list("origin_file", flat=True))
    marks = study_marks(study)
    stargan = [k for k, source in enumerate(marks.case_source) if source == "StarGAN"]
    assert all(case_change_map(marks, k) is not None for k in stargan)


def test_changed_chain_replaces_the_study_with_its_votes(db, tmp_path, small_threads):
    first = run_demo(DemoConfig(workdir=tmp_path, **SMALL), LOGINS, say=lambda _: None)
    membership = Membership.objects.filter(study=first.study).first()
    Vote.objects.create(membership=membership, case=first.study.cases.first(), answer="real", position=1)
    second = run_demo(DemoConfig(workdir=tmp_path, **{**SMALL, "per_cell": 1}), LOGINS, say=lambda _: None)
    assert "train stargan" in second.reused and "verification set" not in second.reused
    assert Study.objects.filter(slug=DEMO_SLUG).count() == 1 and second.study.pk != first.study.pk
    assert not Vote.objects.exists() and second.study.cases.count() == 24 and Batch.objects.count() == 1


def test_paper_profile_needs_the_real_data(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--profile paper needs --data"):
        call_command("demo", profile="paper")
