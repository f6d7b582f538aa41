"""Deployment posture: security headers and CSP on every page, no inline script anywhere, cookies and HSTS under the
production settings, login rate limiting (django-axes), sessions that expire, media never on a public path."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "readerstudy.settings.production",
    "SECRET_KEY": "Yq4-deploy-check-" + "a1b2c3d4e5f6g7h8i9j0" * 3,
    "ALLOWED_HOSTS": "reader.example.org",
}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def production_environment() -> dict:
    """This process's environment with the production settings, less what only a test run sets (Playwright's
    DJANGO_ALLOW_ASYNC_UNSAFE would itself be a deployment error)."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **PRODUCTION_ENV}


def production_settings(*names: str) -> dict:
    """Values of settings as the production module computes them (in a fresh interpreter)."""
    code = ("import json, django; django.setup(); from django.conf import settings; "
            f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=production_environment(),
                            capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_pass_check_deploy_at_warning_level():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=production_environment(), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_cookies_are_secure_and_hsts_is_a_year_with_subdomains():
    values = production_settings("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
                                 "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT",
                                 "X_FRAME_OPTIONS", "DEBUG", "SESSION_COOKIE_AGE")
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_SSL_REDIRECT"] and values["X_FRAME_OPTIONS"] == "DENY" and values["DEBUG"] is False
    assert 0 < values["SESSION_COOKIE_AGE"] <= 24 * 3600


def test_production_refuses_the_development_secret_key():
    env = {**os.environ, **PRODUCTION_ENV, "SECRET_KEY": "insecure-development-key-change-me-in-production-0123456789"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/api/docs/", "/studies/paper/read/", "/admin/"])
def test_pages_carry_csp_without_inline_script_and_framing_is_denied(path, staff_user, study_factory,
                                                                     reader_factory, case_factory):
    study = study_factory("paper", status="open")
    case_factory(study, source="real")
    case_factory(study, source="pix2pix")
    if path == "/admin/":  # Django admin is for superusers (operators) only
        type(staff_user).objects.filter(pk=staff_user.pk).update(is_superuser=True)
    client = Client()
    client.force_login(reader_factory(study, username="r").user if path.startswith("/studies/") else staff_user)
    response = client.get(path)
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip())
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no CDN
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not EVENT_HANDLER_ATTRIBUTE.search(html)


def test_swagger_ui_initialises_from_a_same_origin_script(staff_user):
    client = Client()
    client.force_login(staff_user)
    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert sources and all(src.startswith("/") for src in sources)  # self-hosted, no CDN
    script = client.get(sources[-1].replace("&amp;", "&"))
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_no_template_holds_an_inline_script_or_event_handler():
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        if INLINE_SCRIPT.search(text) or EVENT_HANDLER_ATTRIBUTE.search(text):
            offenders.append(str(template.relative_to(ROOT)))
    assert not offenders


@pytest.fixture
def reader_account(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("clinician", password="the-right-password-1")


def test_five_wrong_passwords_lock_the_login_page_even_for_the_right_one(reader_account):
    client = Client()
    codes = [client.post("/accounts/login/", {"username": "clinician", "password": "wrong"}).status_code
             for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the form again, then the lockout
    locked = client.post("/accounts/login/", {"username": "clinician", "password": "the-right-password-1"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_api_token_endpoint_shares_the_lockout(reader_account):
    api = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api.post("/api/auth/token/", {"username": "clinician", "password": "wrong"}, format="json")
    right = {"username": "clinician", "password": "the-right-password-1"}
    response = api.post("/api/auth/token/", right, format="json")
    assert response.status_code == 400 and "token" not in response.json()  # DRF's generic "unable to log in"
    # The same credentials from another address work: it was the lockout (username + address) that refused them.
    assert "token" in APIClient(REMOTE_ADDR="10.0.0.7").post("/api/auth/token/", right, format="json").json()


def test_a_lockout_is_per_account_and_a_success_resets_the_count(reader_account):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("colleague", password="colleague-password-1")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/accounts/login/", {"username": "clinician", "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "clinician", "password": "the-right-password-1"}
                       ).status_code == 302
    client.logout()
    client.post("/accounts/login/", {"username": "clinician", "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "clinician", "password": "the-right-password-1"}
                       ).status_code == 302  # the earlier failures were forgotten on success
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "clinician", "password": "wrong"})
    assert Client().post("/accounts/login/", {"username": "colleague", "password": "colleague-password-1"}
                         ).status_code == 302


def test_the_session_cookie_expires_and_an_expired_session_is_logged_out(reader_account):
    client = Client()
    response = client.post("/accounts/login/", {"username": "clinician", "password": "the-right-password-1"})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE <= 24 * 3600
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert client.get("/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_an_uploaded_case_image_cannot_be_reached_from_a_public_path(study_factory, case_factory, reader_factory,
                                                                     staff_user):
    study = study_factory("paper", status="open")
    case = case_factory(study, source="real")
    name = case.image.name
    assert (Path(settings.MEDIA_ROOT) / name).is_file()
    client = Client()
    client.force_login(staff_user)  # even staff: the only way to an image is the blinded view
    for prefix in ("/media/", "/static/", settings.MEDIA_URL, "/static/../media/", "/var/media/"):
        assert client.get(prefix + name).status_code == 404, prefix
    media, static_root = Path(settings.MEDIA_ROOT).resolve(), Path(settings.STATIC_ROOT).resolve()
    for public in [static_root, *(Path(folder).resolve() for folder in settings.STATICFILES_DIRS)]:
        assert not media.is_relative_to(public) and not public.is_relative_to(media)
    assert client.get(f"/i/{case.image_token}.png").status_code == 200
