"""Sessions read from a shared cache when one is configured (CACHE_URL=redis://...), from the database otherwise."""
import os
import subprocess
import sys

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client, override_settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")


def session_engine_with(cache_url: str | None) -> str:
    env = {key: value for key, value in os.environ.items() if key != "CACHE_URL"}
    if cache_url is not None:
        env["CACHE_URL"] = cache_url
    code = "import django; django.setup(); from django.conf import settings; print(settings.SESSION_ENGINE)"
    result = subprocess.run([sys.executable, "-c", code], env={**env, "DJANGO_SETTINGS_MODULE": "readerstudy.settings"},
                            capture_output=True, text=True, check=True)
    return result.stdout.split()[-1]


def test_only_a_shared_cache_puts_sessions_in_front_of_the_database():
    assert session_engine_with(None) == "django.contrib.sessions.backends.db"
    assert session_engine_with("locmemcache://") == "django.contrib.sessions.backends.db"  # one copy per process
    assert session_engine_with("redis://127.0.0.1:6379/3") == "django.contrib.sessions.backends.cached_db"


def redis_answers() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.mark.skipif(not redis_answers(), reason="no Redis at " + REDIS_URL)
def test_a_logout_ends_a_cached_session_for_every_worker(db):
    get_user_model().objects.create_user("clinician", password="the-right-password-1")
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                               "LOCATION": REDIS_URL}},
                           SESSION_ENGINE="django.contrib.sessions.backends.cached_db"):
        caches["default"].clear()
        browser = Client()
        assert browser.post("/accounts/login/", {"username": "clinician", "password": "the-right-password-1"}
                            ).status_code == 302
        key = browser.cookies["sessionid"].value
        assert caches["default"].get("django.contrib.sessions.cached_db" + key) is not None  # read from Redis
        stolen = Client()
        stolen.cookies["sessionid"] = key
        assert stolen.get("/").status_code == 200
        browser.post("/accounts/logout/")
        assert stolen.get("/")["Location"].startswith("/accounts/login/")
