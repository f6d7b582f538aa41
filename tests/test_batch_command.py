"""``manage.py import_batch ZIP --study SLUG``: the same import, a printed result, an error exit with the errors."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from readerstudy.studies.models import Case
from tests.factories import make_batch_zip, make_manifest, make_png, make_zip

pytestmark = pytest.mark.django_db


def test_import_batch_imports_and_prints_the_result(study_factory, tmp_path):
    study = study_factory()
    path = tmp_path / "batch.zip"
    path.write_bytes(make_batch_zip())
    out = io.StringIO()
    call_command("import_batch", str(path), "--study", study.slug, stdout=out)
    assert "4 cases imported into paper" in out.getvalue()
    assert Case.objects.filter(study=study).count() == 4


def test_import_batch_fails_with_every_error(study_factory, tmp_path):
    study = study_factory()
    rows = [{"filename": "a.png", "finding": "Mass", "source": "Real"}]
    path = tmp_path / "bad.zip"
    path.write_bytes(make_zip({"manifest.csv": make_manifest(rows), "a.png": make_png(seed=1)}))
    with pytest.raises(CommandError, match=r"(?s)failed: The batch was refused.*row 2 a\.png: unknown finding 'Mass'"):
        call_command("import_batch", str(path), "--study", study.slug)
    assert not Case.objects.exists()


def test_import_batch_refuses_an_unknown_study_or_a_missing_file(study_factory, tmp_path):
    path = tmp_path / "batch.zip"
    path.write_bytes(make_batch_zip())
    with pytest.raises(CommandError, match="No study with slug 'nope'"):
        call_command("import_batch", str(path), "--study", "nope")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_batch", str(tmp_path / "absent.zip"), "--study", study_factory().slug)


def test_import_batch_exits_non_zero_from_the_shell(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "x.zip"
    path.write_bytes(b"not a zip")
    result = subprocess.run([sys.executable, "manage.py", "import_batch", str(path), "--study", "no-such-study"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
