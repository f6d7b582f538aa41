"""Lockout that cannot be turned against users, and API tokens that rotate and expire.

Behind the documented proxy (one, which sets X-Forwarded-For to the address it saw) every request reaches gunicorn
from the proxy's address; the probe locked any account, staff included, by failing its password five times. Here
the proxy is simulated: REMOTE_ADDR is the proxy, X-Forwarded-For the client.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

PROXY = "127.0.0.1"
ATTACKER, VICTIM_DESK = "203.0.113.66", "198.51.100.7"
RIGHT = "clinician-pass-123"


@pytest.fixture
def behind_the_proxy(settings):
    """The settings PROXY_COUNT=1 gives (readerstudy/settings)."""
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    settings.AXES_IPWARE_PROXY_COUNT = 0
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


@pytest.fixture
def clinician(django_user_model):
    return django_user_model.objects.create_user("clinician", password=RIGHT, is_staff=True)


def via_proxy(client_address: str) -> dict:
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_address}


def test_failing_someone_elses_password_through_the_proxy_does_not_lock_them_out(behind_the_proxy, clinician):
    attacker = APIClient(**via_proxy(ATTACKER))
    for _ in range(6):
        attacker.post("/api/auth/token/", {"username": "clinician", "password": "wrong"}, format="json")
        Client(**via_proxy(ATTACKER)).post("/accounts/login/", {"username": "clinician", "password": "wrong"})
    # The attacker's own address is locked for this account, even with the right password ...
    locked = Client(**via_proxy(ATTACKER)).post("/accounts/login/", {"username": "clinician", "password": RIGHT})
    assert locked.status_code == 429
    # ... while the clinician, at their desk behind the same proxy, signs in and gets a token.
    desk = via_proxy(VICTIM_DESK)
    assert Client(**desk).post("/accounts/login/", {"username": "clinician", "password": RIGHT}).status_code == 302
    response = APIClient(**desk).post("/api/auth/token/", {"username": "clinician", "password": RIGHT}, format="json")
    assert response.status_code == 200 and "token" in response.json()


def test_without_a_proxy_a_forwarded_for_header_from_the_client_is_not_believed(clinician):
    """Directly connected, a client cannot pick the address it is counted under (to dodge its own lock)."""
    for index in range(5):
        Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{index}").post(
            "/accounts/login/", {"username": "clinician", "password": "wrong"})
    dodge = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert dodge.post("/accounts/login/", {"username": "clinician", "password": RIGHT}).status_code == 429


def test_wrong_old_passwords_on_the_change_page_are_counted_and_lock(clinician):
    client = Client(REMOTE_ADDR=ATTACKER)
    client.force_login(clinician)
    for _ in range(5):
        client.post("/accounts/password/", {"old_password": "wrong", "new_password1": "Another-pass-456",
                                            "new_password2": "Another-pass-456"})
    right = client.post("/accounts/password/", {"old_password": RIGHT, "new_password1": "Another-pass-456",
                                                "new_password2": "Another-pass-456"})
    assert right.status_code == 429
    clinician.refresh_from_db()
    assert clinician.check_password(RIGHT)


def test_a_password_change_and_a_logout_end_the_api_token(clinician):
    token = Token.objects.create(user=clinician)
    client = Client()
    client.force_login(clinician)
    changed = client.post("/accounts/password/", {"old_password": RIGHT, "new_password1": "Another-pass-456",
                                                  "new_password2": "Another-pass-456"})
    assert changed.status_code == 302
    assert not Token.objects.filter(key=token.key).exists()
    assert APIClient(HTTP_AUTHORIZATION=f"Token {token.key}").get("/api/studies/").status_code in (401, 403)

    fresh = APIClient().post("/api/auth/token/", {"username": "clinician", "password": "Another-pass-456"},
                             format="json").json()["token"]
    assert fresh != token.key
    client.post("/accounts/logout/")
    assert APIClient(HTTP_AUTHORIZATION=f"Token {fresh}").get("/api/studies/").status_code in (401, 403)


def test_a_token_expires_after_its_lifetime_and_a_new_one_is_issued(clinician, settings):
    settings.API_TOKEN_TTL = timedelta(hours=1)
    token = Token.objects.create(user=clinician)
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/studies/").status_code == 200
    Token.objects.filter(pk=token.pk).update(created=token.created - timedelta(hours=1, seconds=1))  # an hour on
    expired = api.get("/api/studies/")
    assert expired.status_code in (401, 403) and "expired" in expired.json()["detail"]
    again = APIClient().post("/api/auth/token/", {"username": "clinician", "password": RIGHT}, format="json")
    assert again.status_code == 200 and again.json()["token"] != token.key


def test_token_requests_are_limited_per_address_across_usernames(settings, django_user_model):
    settings.API_TOKEN_REQUEST_RATE = "20/min"
    cache.clear()
    client = APIClient(REMOTE_ADDR=ATTACKER)
    answers = [client.post("/api/auth/token/", {"username": f"user{index}", "password": "guess"},
                           format="json").status_code for index in range(25)]
    assert answers[:20] == [400] * 20 and set(answers[20:]) == {429}
    assert APIClient(REMOTE_ADDR=VICTIM_DESK).post("/api/auth/token/", {"username": "x", "password": "y"},
                                                   format="json").status_code == 400


def test_the_login_page_counts_down_and_warns_before_the_last_try(clinician, settings):
    settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME = 5, timedelta(minutes=15)
    desk = Client(REMOTE_ADDR=VICTIM_DESK)
    pages = [desk.post("/accounts/login/", {"username": "clinician", "password": "wrong"}) for _ in range(4)]
    assert [page.status_code for page in pages] == [200] * 4
    assert [page.context["attempts_left"] for page in pages] == [4, 3, 2, 1]
    assert "3 attempts left before a lock-out of 15 minutes." in pages[1].content.decode()
    last_chance = pages[3].content.decode()
    assert 'id="lockout-warning"' in last_chance and "One attempt left" in last_chance
    assert "before a lock-out of 15 minutes" in last_chance


def test_the_lockout_is_a_styled_page_of_the_site_that_says_how_long_it_lasts(clinician, settings):
    settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME = 5, timedelta(minutes=15)
    desk = Client(REMOTE_ADDR=VICTIM_DESK)
    for _ in range(5):
        locked = desk.post("/accounts/login/", {"username": "clinician", "password": "wrong"})
    html = locked.content.decode()
    assert locked.status_code == 429 and {"registration/locked_out.html", "base.html"} <= {t.name for t in
                                                                                           locked.templates}
    assert "css/app.css" in html and "Too many wrong passwords" in html and "locked from this address for 15" in html
