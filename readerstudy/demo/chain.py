"""The whole chain behind ``manage.py demo``: data -> three generators -> verification set -> an open demo study.

Each stage keeps its output under one work folder and reuses it when it is still valid, so running the demo again is
quick and leaves one consistent state: the phantom data (same parameters), the trained runs (training resumes or
finds itself finished), the zip (same checkpoints, cell size and seed) and the study (same zip) are reused; anything
that no longer matches is replaced, the study with its cases, votes and batches removed cleanly first.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import transaction

from readerstudy.batches.models import Batch
from readerstudy.batches.services import batch_create, batch_import
from readerstudy.reading.lifecycle import study_transition
from readerstudy.reading.models import Vote
from readerstudy.results.analysis_plan import plan_set
from readerstudy.studies.models import Case, Study
from readerstudy.studies.services import reader_add, study_admin_grant, study_create

from .names import DEMO_SLUG
from .protocol import demo_protocol_apply

logger = logging.getLogger(__name__)
KINDS = ("pix2pix", "pix2pix-n", "stargan")


@dataclass(frozen=True)
class DemoConfig:
    workdir: Path
    profile: str = "quick"
    data_dir: Path | None = None  # real NIH data; None draws a phantom set under workdir/data
    phantom_disease: int = 600
    phantom_healthy: int = 400
    phantom_labelled: int = 600  # image-level labels without boxes: StarGAN's training set and the Real column
    phantom_size: int = 256
    stargan_holdout: float = 0.5  # a small set: half the patients stay unseen by StarGAN (NIH: 0.1 suffices)
    per_cell: int = 25
    seed: int = 0
    device: str = "auto"
    iters: int | None = None  # overrides the profile's iterations (the tests' reduced chain)
    image_size: int | None = None
    fresh: bool = False
    slug: str = DEMO_SLUG


@dataclass
class DemoResult:
    study: Study
    zip_path: Path
    checkpoints: dict[str, Path]
    timings: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)


Say = Callable[[str], None]


def run_demo(config: DemoConfig, logins: list[tuple[str, str, bool]], say: Say = print) -> DemoResult:
    """Run every stage, timing each; ``logins`` are (username, password, is_staff) for the admin and the readers."""
    workdir = Path(config.workdir)
    if config.fresh and workdir.exists():
        say(f"--fresh: removing {workdir}")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    reused: list[str] = []

    started = time.monotonic()
    data_dir = _data(config, workdir, say, reused)
    timings["data"] = time.monotonic() - started

    checkpoints: dict[str, Path] = {}
    for kind in KINDS:
        started = time.monotonic()
        checkpoints[kind] = _train(config, kind, data_dir, workdir / "runs" / kind, say, reused)
        timings[f"train {kind}"] = time.monotonic() - started

    started = time.monotonic()
    zip_path = _verification_set(config, data_dir, checkpoints, workdir / "verification-set.zip", say, reused)
    timings["verification set"] = time.monotonic() - started

    started = time.monotonic()
    study = _study(config, zip_path, logins, say, reused)
    timings["import and study"] = time.monotonic() - started
    return DemoResult(study, zip_path, checkpoints, timings, reused)


def _data(config: DemoConfig, workdir: Path, say: Say, reused: list[str]) -> Path:
    if config.data_dir is not None:
        say(f"[1/4] data: using {config.data_dir}")
        return Path(config.data_dir)
    from training.data.phantom import make_phantom

    data_dir = workdir / "data"
    wanted = {"disease": config.phantom_disease, "healthy": config.phantom_healthy, "size": config.phantom_size,
              "seed": config.seed, "labelled": config.phantom_labelled}
    marker = data_dir / "phantom.json"
    if marker.is_file() and json.loads(marker.read_text()).get("params") == wanted:
        say(f"[1/4] data: reusing the phantom set in {data_dir}")
        reused.append("data")
        return data_dir
    if data_dir.exists():
        shutil.rmtree(data_dir)
    say(f"[1/4] data: drawing {config.phantom_disease} box-annotated, {config.phantom_labelled} labelled (no box) and "
        f"{config.phantom_healthy} healthy phantom chest images at {config.phantom_size} px")
    summary = make_phantom(data_dir, disease=config.phantom_disease, healthy=config.phantom_healthy,
                           size=config.phantom_size, seed=config.seed, labelled=config.phantom_labelled)
    marker.write_text(json.dumps({"params": wanted, "summary": summary}, indent=1))
    return data_dir


def _train(config: DemoConfig, kind: str, data_dir: Path, out: Path, say: Say, reused: list[str]) -> Path:
    from training.checkpoints import CheckpointError, read_checkpoint_meta
    from training.config import make_config
    from training.runner import train

    train_config = make_config(kind, str(data_dir), str(out), profile=config.profile, seed=config.seed,
                               device=config.device, iters=config.iters, image_size=config.image_size,
                               stargan_holdout=config.stargan_holdout if kind == "stargan" else None)
    checkpoint = out / "checkpoints" / "last.pt"
    if checkpoint.is_file():
        try:
            saved = read_checkpoint_meta(checkpoint, expected_kind=kind)
            same = {k: v for k, v in saved["config"].items() if k not in ("device", "out")} == {
                k: v for k, v in train_config.to_dict().items() if k not in ("device", "out")}
        except CheckpointError:
            same = False
        if same and saved["step"] >= train_config.iters:
            say(f"[2/4] train {kind}: reusing {checkpoint} (step {saved['step']})")
            reused.append(f"train {kind}")
            return checkpoint
        if not same:
            shutil.rmtree(out)
    say(f"[2/4] train {kind}: {train_config.iters} iterations at {train_config.image_size} px "
        f"({config.profile} profile)")
    return Path(train(train_config, resume=checkpoint.is_file(), progress=True).checkpoint)


def _verification_set(config: DemoConfig, data_dir: Path, checkpoints: dict[str, Path], out: Path, say: Say,
                      reused: list[str]) -> Path:
    from tqdm import tqdm

    from generation.verification import VerificationSetConfig, build_verification_set

    if _zip_matches(out, checkpoints, config):
        say(f"[3/4] verification set: reusing {out}")
        reused.append("verification set")
        return out
    total = 6 * 4 * config.per_cell
    say(f"[3/4] verification set: {total} images (6 findings x 4 sources x {config.per_cell})")
    with tqdm(total=total, desc="verification set", unit="img") as bar:
        build_verification_set(
            VerificationSetConfig(data_dir=data_dir, checkpoints=checkpoints, out=out, per_cell=config.per_cell,
                                  seed=config.seed, force=True, device=config.device),
            progress=lambda done, _total: bar.update(done - bar.n))
    return out


def _zip_matches(out: Path, checkpoints: dict[str, Path], config: DemoConfig) -> bool:
    """Whether an existing zip was built from these checkpoint files with this cell size and seed, and carries the
    StarGAN origins (a zip made before they were written is rebuilt, so the marks analysis gets its change maps)."""
    from training.inference import file_sha256

    if not out.is_file():
        return False
    try:
        with zipfile.ZipFile(out) as archive:
            provenance = json.loads(archive.read("provenance.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError):
        return False
    recorded = {kind: record.get("sha256") for kind, record in provenance.get("checkpoints", {}).items()}
    return (provenance.get("per_cell") == config.per_cell and provenance.get("seed") == config.seed
            and "origins" in provenance
            and recorded == {kind: file_sha256(path) for kind, path in checkpoints.items()})


def _study(config: DemoConfig, zip_path: Path, logins: list[tuple[str, str, bool]], say: Say,
           reused: list[str]) -> Study:
    from training.inference import file_sha256

    _demo_users(logins)
    admin = get_user_model().objects.get(username=next(name for name, _, staff in logins if staff))
    zip_sha = file_sha256(zip_path)
    study = Study.objects.filter(slug=config.slug).first()
    if study is not None and study.batches.filter(zip_sha256=zip_sha, status=Batch.Status.DONE).exists():
        say(f"[4/4] study '{study.slug}': reusing it ({study.cases.count()} cases from this verification set)")
        reused.append("study")
    else:
        if study is not None:
            say(f"[4/4] study '{study.slug}': replacing the earlier study (its cases, votes and batches)")
            remove_study(study)
        study = study_create(slug=config.slug, name="Demo: real or generated?", created_by=admin,
                             description="A demo verification set generated from phantom chest images drawn by the "
                                         "project (not patient data).")
        say(f"[4/4] study '{study.slug}': importing {zip_path.name}")
        batch = batch_create(study=study, archive_file=zip_path, original_name=zip_path.name, uploaded_by=admin,
                             enqueue=False)
        batch = batch_import(batch=batch)
        if batch.status != Batch.Status.DONE:
            problems = "; ".join(f"{e.get('file')}: {e.get('message')}" for e in batch.errors[:5])
            raise RuntimeError(f"the demo batch was not imported: {batch.failure_reason} {problems}")
    study_admin_grant(study=study, user=admin, actor=admin)  # the demo admin administers the demo study
    demo_protocol_apply(study, admin)
    for username, _password, is_staff in logins:
        if not is_staff:
            reader_add(study=study, username=username)
    if study.status == Study.Status.DRAFT:  # the demo's question, registered before it opens (frozen by opening)
        plan_set(study, admin, endpoint="called_real", test="non_inferiority", margin=0.10, alpha=0.05)
    study_transition(study, admin, Study.Status.OPEN)
    return study


def _demo_users(logins: list[tuple[str, str, bool]]) -> None:
    user_model = get_user_model()
    for username, password, is_staff in logins:
        user, _ = user_model.objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = is_staff
        user.set_password(password)
        user.save()


def remove_study(study: Study) -> None:
    """Delete a study with its votes, cases, batches and jobs, and then their files."""
    with transaction.atomic():
        files = list(Case.objects.filter(study=study).values_list("image", flat=True))
        files += [name for name in Case.objects.filter(study=study).values_list("origin_file", flat=True) if name]
        files += [name for name in Batch.objects.filter(study=study).values_list("archive", flat=True) if name]
        Vote.objects.filter(case__study=study).delete()
        Case.objects.filter(study=study).delete()
        study.generation_jobs.all().delete()
        Batch.objects.filter(study=study).delete()
        study.delete()
    for name in files:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete %s", name)


def describe(result: DemoResult) -> dict:
    return {"study": result.study.slug, "cases": result.study.cases.count(), "zip": str(result.zip_path),
            "checkpoints": {k: str(v) for k, v in result.checkpoints.items()},
            "timings_s": {k: round(v, 1) for k, v in result.timings.items()}, "reused": result.reused}

