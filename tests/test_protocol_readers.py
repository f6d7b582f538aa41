"""Reader management: invitation links (no e-mail), accounts created by the admin, per-reader progress and last
activity, and resetting a reader's session only before they voted."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from readerstudy.reading.models import PracticeVote, SequenceSlot
from readerstudy.studies.models import AuditEntry, Invitation, Membership
from tests.factories import create_cases_fast


@pytest.fixture
def study(study_factory):
    study = study_factory("paper", status="open")
    create_cases_fast(study, "effusion", "real", 3)
    create_cases_fast(study, "effusion", "pix2pix", 3)
    return study


def sign_up(username: str) -> dict:
    """The invitation page's sign-up form (Django's ``UserCreationForm``: the password typed twice)."""
    return {"username": username, "password1": "a-long-pass-phrase-42", "password2": "a-long-pass-phrase-42"}


def test_an_invitation_link_creates_an_account_and_joins_the_study(study, staff_api):
    url = staff_api.post("/api/studies/paper/invitations/", {"note": "Dr Lee"}, format="json").json()["url"]
    path = url.split("testserver", 1)[1]
    browser = Client()
    assert "You are invited" in browser.get(path).content.decode()
    response = browser.post(path, sign_up("drlee"))
    assert response.status_code == 302
    membership = Membership.objects.get(study=study, user__username="drlee")
    assert membership.pseudonym == "R1"
    assert browser.get("/api/studies/paper/next/").status_code == 200  # logged in and reading
    invitation = Invitation.objects.get()
    assert invitation.used_by.username == "drlee" and invitation.used_at is not None


def test_an_invitee_of_a_draft_study_is_told_it_is_not_open_yet_and_by_name(study_factory, staff_api):
    study_factory("draft-one", status="draft", name="Chest study, spring")
    path = staff_api.post("/api/studies/draft-one/invitations/", {}, format="json").json()["url"].split(
        "testserver", 1)[1]
    browser = Client()
    home = browser.post(path, sign_up("drdraft"), follow=True).content.decode()
    assert "not a reader in any" not in home
    assert "You joined “Chest study, spring”. It is not open yet" in home  # the message after joining
    assert 'id="waiting-studies"' in home and "Chest study, spring" in home  # and the home page, every time after
    assert "as soon as its\n        administrator opens it" in browser.get("/").content.decode()


def test_a_reader_of_no_study_at_all_is_told_how_to_join(db, reader_factory):
    browser = Client()
    browser.force_login(reader_factory(username="nobody-yet"))
    assert "You are not a reader in any study yet" in browser.get("/").content.decode()


def test_an_invitation_works_once(study, staff_api):
    url = staff_api.post("/api/studies/paper/invitations/", {}, format="json").json()["url"]
    path = url.split("testserver", 1)[1]
    Client().post(path, sign_up("first"))
    second = Client()
    assert second.get(path).status_code == 404
    second.post(path, sign_up("second"))
    assert not get_user_model().objects.filter(username="second").exists()
    assert Membership.objects.filter(study=study).count() == 1


def test_a_logged_in_user_joins_with_their_own_account(study, staff_api, reader_factory):
    user = reader_factory(username="existing")
    path = staff_api.post("/api/studies/paper/invitations/", {}, format="json").json()["url"].split("testserver", 1)[1]
    browser = Client()
    browser.force_login(user)
    browser.post(path)
    assert Membership.objects.filter(study=study, user=user).exists()


def test_an_unknown_invitation_is_404(study):
    assert Client().get("/invite/not-a-real-token-at-all/").status_code == 404


def test_the_admin_creates_an_account_from_the_readers_page(study, staff_user):
    browser = Client()
    browser.force_login(staff_user)
    browser.post("/studies/paper/readers/", {"action": "add", "username": "newreader",
                                             "password": "a-long-pass-phrase-42"})
    assert get_user_model().objects.get(username="newreader").check_password("a-long-pass-phrase-42")
    assert Membership.objects.filter(study=study, user__username="newreader").exists()
    assert AuditEntry.objects.filter(action="reader_added").exists()


def test_progress_and_last_activity_per_reader(study, staff_api, reader_factory):
    alice = reader_factory(study, username="alice")
    reader_factory(study, username="bob")
    client = APIClient()
    client.force_authenticate(alice.user)
    for _ in range(2):
        case = client.get("/api/studies/paper/next/").json()["case"]
        client.post("/api/studies/paper/votes/", {"case": case, "answer": "real"}, format="json")
    rows = {row["pseudonym"]: row for row in staff_api.get("/api/studies/paper/readers/").json()}
    assert (rows["R1"]["username"], rows["R1"]["answered"], rows["R1"]["total"]) == ("alice", 2, 6)
    assert rows["R1"]["last_activity_at"] is not None and rows["R1"]["has_voted"] is True
    assert (rows["R2"]["answered"], rows["R2"]["last_activity_at"], rows["R2"]["has_voted"]) == (0, None, False)


def test_a_reader_is_reset_before_voting_but_not_after(study, staff_api, reader_factory):
    membership = reader_factory(study)
    client = APIClient()
    client.force_authenticate(membership.user)
    client.get("/api/studies/paper/next/")
    assert SequenceSlot.objects.filter(membership=membership).exists()
    response = staff_api.post("/api/studies/paper/readers/R1/reset/")
    assert response.status_code == 200 and not SequenceSlot.objects.filter(membership=membership).exists()
    assert not PracticeVote.objects.filter(membership=membership).exists()
    case = client.get("/api/studies/paper/next/").json()["case"]
    client.post("/api/studies/paper/votes/", {"case": case, "answer": "real"}, format="json")
    refused = staff_api.post("/api/studies/paper/readers/R1/reset/")
    assert refused.status_code == 409 and "only before their first vote" in refused.json()["errors"]["reader"][0]
    assert SequenceSlot.objects.filter(membership=membership).exists()


def test_an_unknown_reader_cannot_be_reset(study, staff_api):
    assert staff_api.post("/api/studies/paper/readers/R9/reset/").status_code == 400


def test_the_readers_page_lists_progress_and_offers_reset_only_before_voting(study, staff_user, reader_factory):
    voted = reader_factory(study)
    reader_factory(study)  # R2, who has not voted
    client = APIClient()
    client.force_authenticate(voted.user)
    case = client.get("/api/studies/paper/next/").json()["case"]
    client.post("/api/studies/paper/votes/", {"case": case, "answer": "real"}, format="json")
    browser = Client()
    browser.force_login(staff_user)
    html = browser.get("/studies/paper/readers/").content.decode()
    assert "1 / 6" in html and "0 / 6" in html
    assert "/studies/paper/readers/R2/reset/" in html and "/studies/paper/readers/R1/reset/" not in html


def test_an_invitation_expires_and_an_admin_can_withdraw_it(study_factory, staff_user, staff_api):
    """Invitation links work for 14 days and can be withdrawn (issue 29); both refuse a sign-up and leave no
    account, and the withdrawal is audited."""
    import time_machine
    from django.contrib.auth import get_user_model
    from django.test import Client

    from readerstudy.studies.models import AuditEntry

    study_factory("paper", status="open")
    made = staff_api.post("/api/studies/paper/invitations/", {"note": "Dr A"}, format="json").json()
    withdrawn = staff_api.post("/api/studies/paper/invitations/", {"note": "Dr B"}, format="json").json()
    assert staff_api.delete(f"/api/studies/paper/invitations/{withdrawn['id']}/").status_code == 204
    sign_up = {"username": "newbie", "password1": "a-long-password-1", "password2": "a-long-password-1"}
    assert Client().post(withdrawn["url"], sign_up).status_code == 404
    with time_machine.travel("2099-01-01 00:00:00+00:00"):
        assert Client().post(made["url"], sign_up).status_code == 404
    assert not get_user_model().objects.filter(username="newbie").exists()
    assert AuditEntry.objects.filter(action="invitation_revoked", old_value="Dr B").exists()
    assert Client().post(made["url"], sign_up).status_code == 302  # within its 14 days it works
    assert staff_api.delete(f"/api/studies/paper/invitations/{made['id']}/").status_code == 409  # used already
