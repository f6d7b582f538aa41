"""gunicorn.conf.py: the production server settings load in gunicorn, and a worker is ready before its first request."""
import gc
import os
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gunicorn_accepts_the_configuration():
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", str(ROOT / "gunicorn.conf.py"),
         "readerstudy.wsgi:application"],
        cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "readerstudy.settings"}, capture_output=True,
        text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_threaded_workers_keep_a_readers_connection_open_longer_than_they_look_at_an_image():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread" and config["threads"] >= 2 and config["keepalive"] >= 60


def test_a_worker_imports_every_view_and_freezes_what_it_loaded_before_the_first_request():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    interval = sys.getswitchinterval()
    try:
        config["post_worker_init"](None)
        assert "readerstudy.results.views" in sys.modules
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        sys.setswitchinterval(interval)
