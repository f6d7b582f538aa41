"""Shared fixtures: a private media folder per test, fast password hashing, Celery eager unless a test asks for a
real worker, and factories for studies, readers and cases."""
from __future__ import annotations

import os
import shutil

import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The token endpoint's per-address limit counts in the (per-process) cache across tests; the suite's many
    # token requests all come from one test address. tests/security/test_lockout_and_tokens.py sets it back.
    settings.API_TOKEN_REQUEST_RATE = "100000/min"
    # A generation job runs in its request (eager Celery) unless a test asks for the background thread the default
    # set-up uses without a broker (tests/test_jobs_pages.py): a thread's connection cannot see a test's transaction.
    settings.GENERATION_RUN_IN_THREAD = False


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: rolled-back tests reuse primary keys, so a key such as the results'
    (study id and vote counts) could otherwise find another test's entry."""
    from django.core.cache import cache

    from readerstudy.reading import state

    cache.clear()
    # The reading path's per-process tables are keyed by ids and a fingerprint of stored rows; on SQLite a rolled-back
    # test hands the next one the same ids (the sequence table rolls back too), and tests that fix a reader's seed
    # would then read another test's slots. (In a running server ids are never reused: AUTOINCREMENT, sequences.)
    state._slots.cache_clear()
    state._case_tracks.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def _celery_eager_by_default():
    from readerstudy.celery import app

    _set_eager(app, True)
    yield


def _set_eager(app, eager: bool) -> None:
    """Eager on or off for real: with a "CELERY" namespace the prefixed key from Django settings wins over the plain
    one, so setting only ``task_always_eager`` would be ignored when CELERY_BROKER_URL is set (tasks would be
    published to the broker and never run)."""
    app.conf.CELERY_TASK_ALWAYS_EAGER = app.conf.task_always_eager = eager
    app.conf.CELERY_TASK_EAGER_PROPAGATES = app.conf.task_eager_propagates = True


@pytest.fixture
def celery_real_worker(transactional_db, settings):
    """A real Celery worker (in a thread of this process) consuming from the real broker in CELERY_BROKER_URL.

    Tests that use it run with committed transactions, so the worker's own database connection sees their rows.
    """
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        pytest.skip("needs a real broker: set CELERY_BROKER_URL (CI sets redis://127.0.0.1:6379/0)")
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from readerstudy.celery import app

    def close_the_worker_threads_connections(**_):
        # Runs in the worker's thread after each task: a connection left open there (CONN_MAX_AGE keeps it) would
        # stop pytest-django from dropping the test database at the end of the run.
        connections.close_all()

    _set_eager(app, False)
    app.conf.broker_url = broker
    task_postrun.connect(close_the_worker_threads_connections, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30,
                          queues=["default", "gpu"]) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_the_worker_threads_connections)
        _set_eager(app, True)


@pytest.fixture
def chromium_path():
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture
def make_png():
    return factories.make_png


@pytest.fixture
def study_factory(db):
    return factories.create_study


@pytest.fixture
def reader_factory(db):
    return factories.create_reader


@pytest.fixture
def case_factory(db):
    return factories.create_case


@pytest.fixture
def staff_api(staff_user):
    """A DRF client signed in as the study admin."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff_user)
    return client


@pytest.fixture
def staff_user(db):
    """The study admin: a staff account that administers every study the test makes, whether made before this
    fixture (granted here) or after it (``factories.create_study``'s default admins), as every staff account does
    after the upgrade to per-study roles. Tests about who administers what pass ``admins=`` explicitly."""
    from django.contrib.auth import get_user_model

    from readerstudy.studies.models import Study

    user = get_user_model().objects.create_user("admin", password="admin-pass-123", is_staff=True)
    for study in Study.objects.all():
        factories.make_study_admin(study, user)
    return user
