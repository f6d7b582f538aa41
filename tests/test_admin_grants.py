"""Admin grants (issue 29): an admin may grant admin rights only to an account that reads in the study (or already
administers it), the answer does not tell whether a username exists, and removing the role takes back the staff flag
the grant gave once no other study needs it."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from readerstudy.studies.models import AuditEntry, StudyAdministrator


def test_a_grant_reaches_only_readers_of_the_study_and_says_the_same_for_unknown_names(
        study_factory, reader_factory, staff_api):
    study = study_factory("paper", status="draft")
    other = study_factory("other", status="draft")
    outsider = reader_factory(other).user  # a reader of another study
    unknown = staff_api.post("/api/studies/paper/admins/", {"username": "nobody-at-all"}, format="json")
    stranger = staff_api.post("/api/studies/paper/admins/", {"username": outsider.username}, format="json")
    assert unknown.status_code == stranger.status_code == 400
    assert unknown.json() == stranger.json()  # nothing tells an existing account from a missing one
    outsider.refresh_from_db()
    assert not outsider.is_staff and not StudyAdministrator.objects.filter(user=outsider).exists()
    reader = reader_factory(study).user
    granted = staff_api.post("/api/studies/paper/admins/", {"username": reader.username}, format="json")
    assert granted.status_code == 201
    reader.refresh_from_db()
    assert reader.is_staff and AuditEntry.objects.filter(study=study, action="admin_granted").exists()


def test_removing_the_role_takes_back_the_staff_flag_the_grant_gave(study_factory, reader_factory, staff_api):
    paper = study_factory("paper", status="draft")
    reader = reader_factory(paper).user
    staff_api.post("/api/studies/paper/admins/", {"username": reader.username}, format="json")
    reader.refresh_from_db()
    assert reader.is_staff
    assert staff_api.delete(f"/api/studies/paper/admins/{reader.username}/").status_code == 204
    reader.refresh_from_db()
    assert not reader.is_staff  # no other study needed it


def test_staff_given_by_one_grant_stays_while_another_study_needs_it(study_factory, reader_factory, staff_api):
    from readerstudy.studies.services import reader_add

    paper = study_factory("paper", status="draft")
    second = study_factory("second", status="draft")
    reader = reader_factory(paper).user
    reader_add(study=second, username=reader.username)
    staff_api.post("/api/studies/paper/admins/", {"username": reader.username}, format="json")
    staff_api.post("/api/studies/second/admins/", {"username": reader.username}, format="json")
    staff_api.delete(f"/api/studies/paper/admins/{reader.username}/")
    reader.refresh_from_db()
    assert reader.is_staff  # still administers "second"
    staff_api.delete(f"/api/studies/second/admins/{reader.username}/")
    reader.refresh_from_db()
    assert not reader.is_staff


def test_an_account_that_was_staff_before_its_grant_stays_staff(study_factory, reader_factory, staff_api):
    study = study_factory("paper", status="draft")
    reader = reader_factory(study).user
    get_user_model().objects.filter(pk=reader.pk).update(is_staff=True)
    staff_api.post("/api/studies/paper/admins/", {"username": reader.username}, format="json")
    staff_api.delete(f"/api/studies/paper/admins/{reader.username}/")
    reader.refresh_from_db()
    assert reader.is_staff


def test_the_readers_page_grant_gives_the_same_answer_for_unknown_and_foreign_accounts(
        study_factory, reader_factory, staff_user):
    study_factory("paper", status="draft")
    outsider = reader_factory(study_factory("other", status="draft")).user
    page = APIClient()
    page.force_login(staff_user)
    for name in ("nobody-at-all", outsider.username):
        response = page.post("/studies/paper/readers/", {"action": "grant_admin", "username": name}, follow=True)
        page_text = response.content.decode()
        assert "Only a reader of this study can be made its admin" in page_text and "No account" not in page_text
