"""Withdrawing an invitation link from the readers page: asked first, then the API's own service
(``invitation_revoke``), so the page and ``DELETE /api/studies/<slug>/invitations/<id>/`` follow one rule: audited,
the study's admins only, a used or expired link refused with a sentence that says why."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from readerstudy.studies.models import AuditEntry, Invitation


@pytest.fixture
def paper(study_factory, staff_user):
    return study_factory("paper", status="open")


@pytest.fixture
def admin_page(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def withdraw_url(invitation: Invitation) -> str:
    return f"/studies/{invitation.study.slug}/readers/invitations/{invitation.pk}/withdraw/"


def invitation_rows(client) -> list[str]:
    """The data-invitation ids of the readers page's invitation table."""
    return [str(invitation.pk) for invitation in client.get("/studies/paper/readers/").context["invitations"]]


def test_the_readers_page_offers_withdraw_beside_each_open_link_only(paper, staff_user, admin_page):
    open_link = Invitation.objects.create(study=paper, note="Dr Open", expires_at=timezone.now() + timedelta(days=3))
    expired = Invitation.objects.create(study=paper, note="Dr Late", expires_at=timezone.now() - timedelta(days=1))
    html = admin_page.get("/studies/paper/readers/").content.decode()
    assert withdraw_url(open_link) in html
    assert withdraw_url(expired) not in html and "expired" in html


def test_withdraw_asks_first_and_changes_nothing_until_confirmed(paper, admin_page):
    link = Invitation.objects.create(study=paper, note="Dr B")
    asked = admin_page.post(withdraw_url(link))
    assert asked.status_code == 200
    assert "Withdraw the invitation link for Dr B?" in asked.content.decode()
    assert "cannot be undone" in asked.content.decode()
    link.refresh_from_db()
    assert link.revoked_at is None and not AuditEntry.objects.filter(action="invitation_revoked").exists()


def test_a_confirmed_withdrawal_is_audited_says_so_and_the_row_is_gone(paper, staff_user, admin_page):
    link = Invitation.objects.create(study=paper, note="Dr B")
    response = admin_page.post(withdraw_url(link), {"confirm": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == "/studies/paper/readers/"
    assert "The invitation link for Dr B was withdrawn: it no longer works." in response.content.decode()
    assert str(link.pk) not in [str(row.pk) for row in response.context["invitations"]]
    entry = AuditEntry.objects.get(action="invitation_revoked")
    assert (entry.actor, entry.old_value) == (staff_user, "Dr B")
    assert Client().get(f"/invite/{link.token}/").status_code == 404  # the link itself no longer works


def test_the_page_and_the_api_agree(paper, staff_api, admin_page):
    """Withdrawn on the page: the API sees it withdrawn (a second DELETE is harmless, no second audit entry);
    withdrawn through the API: gone from the page."""
    by_page = Invitation.objects.create(study=paper, note="Dr Page")
    by_api = Invitation.objects.create(study=paper, note="Dr Api")
    admin_page.post(withdraw_url(by_page), {"confirm": "yes"})
    assert staff_api.delete(f"/api/studies/paper/invitations/{by_page.pk}/").status_code == 204
    assert staff_api.delete(f"/api/studies/paper/invitations/{by_api.pk}/").status_code == 204
    assert invitation_rows(admin_page) == []
    assert AuditEntry.objects.filter(action="invitation_revoked").count() == 2
    assert staff_api.get("/api/studies/paper/readers/monitoring/").json()["invitations"] == []


@pytest.mark.parametrize("who", ["reader", "other_admin"])
def test_a_reader_or_another_studys_admin_cannot_withdraw(paper, study_factory, reader_factory, who):
    from django.contrib.auth import get_user_model

    link = Invitation.objects.create(study=paper, note="Dr B")
    if who == "reader":
        user = reader_factory(paper, username="reader").user
    else:
        user = get_user_model().objects.create_user("other-admin", is_staff=True)
        study_factory("other", admins=[user])
    client = Client()
    client.force_login(user)
    assert client.post(withdraw_url(link)).status_code == 404
    assert client.post(withdraw_url(link), {"confirm": "yes"}).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_another_studys_link_through_this_studys_address_is_404(paper, study_factory, admin_page):
    other = Invitation.objects.create(study=study_factory("other"), note="Dr Other")
    response = admin_page.post(f"/studies/paper/readers/invitations/{other.pk}/withdraw/", {"confirm": "yes"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_a_used_link_is_refused_with_the_reason_on_the_page_and_409_in_the_api(paper, reader_factory, staff_api,
                                                                               admin_page):
    reader = reader_factory(paper, username="drlee").user
    used = Invitation.objects.create(study=paper, note="Dr Lee", used_by=reader, used_at=timezone.now())
    response = admin_page.post(withdraw_url(used), {"confirm": "yes"}, follow=True)
    assert "This invitation was used already, by drlee" in response.content.decode()
    assert staff_api.delete(f"/api/studies/paper/invitations/{used.pk}/").status_code == 409
    assert not AuditEntry.objects.filter(action="invitation_revoked").exists()


def test_an_expired_link_is_refused_clearly_even_from_a_stale_page(paper, staff_api, admin_page):
    expired = Invitation.objects.create(study=paper, note="Dr Late", expires_at=timezone.now() - timedelta(hours=1))
    asked = admin_page.post(withdraw_url(expired), follow=True)  # the page was loaded before the link expired
    assert "expired on" in asked.content.decode() and "nothing to withdraw" in asked.content.decode()
    api = staff_api.delete(f"/api/studies/paper/invitations/{expired.pk}/")
    assert api.status_code == 409 and "nothing to withdraw" in api.json()["detail"]
    expired.refresh_from_db()
    assert expired.revoked_at is None


def test_the_study_home_and_the_api_count_only_links_that_still_work(paper, staff_api, admin_page):
    still_open = Invitation.objects.create(study=paper, note="open")
    Invitation.objects.create(study=paper, note="late", expires_at=timezone.now() - timedelta(days=1))
    withdrawn = Invitation.objects.create(study=paper, note="gone")
    admin_page.post(withdraw_url(withdrawn), {"confirm": "yes"})
    detail = {item.key: item.detail for item in admin_page.get("/studies/paper/").context["items"]}
    assert "1 invitation link not used yet" in detail["readers"]
    listed = staff_api.get("/api/studies/paper/readers/monitoring/").json()["invitations"]
    assert [(link["id"], link["note"]) for link in listed] == [(still_open.pk, "open")]  # the id withdraws it
