"""One bound for passwords in every form and the API (issue 29: a 100,000-character password was accepted by the
change form, then refused at login with 413)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from readerstudy.studies.auth import MAX_PASSWORD_LENGTH
from readerstudy.studies.services import invitation_create

LONG = "Aa1!" * (MAX_PASSWORD_LENGTH // 4) + "x"  # one character over the bound


def test_the_change_form_refuses_a_password_the_login_form_would_refuse(db):
    user = get_user_model().objects.create_user("ann", password="a-long-password-1")
    client = Client()
    client.force_login(user)
    response = client.post("/accounts/password/", {"old_password": "a-long-password-1", "new_password1": LONG,
                                                   "new_password2": LONG})
    assert response.status_code == 200 and "too long" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password("a-long-password-1")


def test_the_login_form_answers_a_too_long_password_with_the_form(db):
    get_user_model().objects.create_user("ann", password="a-long-password-1")
    client = Client()
    response = client.post("/accounts/login/", {"username": "ann", "password": LONG})
    assert response.status_code == 200 and "_auth_user_id" not in client.session  # the form again, not a 413


def test_sign_up_and_the_readers_api_bound_the_password_alike(study_factory, staff_user, staff_api):
    study = study_factory("paper", status="open")
    invitation = invitation_create(study, staff_user, "")
    sign_up = Client().post(f"/invite/{invitation.token}/", {"username": "newbie", "password1": LONG,
                                                             "password2": LONG})
    assert sign_up.status_code == 200 and not get_user_model().objects.filter(username="newbie").exists()
    api = staff_api.post("/api/studies/paper/readers/", {"username": "other", "password": LONG}, format="json")
    assert api.status_code == 400 and "password" in api.json()["errors"]
