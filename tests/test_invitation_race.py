"""An invitation link is claimed atomically: three people signing up on one link at the same moment make one
account and one reader, and the other two are told the link was used."""
from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client

from readerstudy.studies.models import Invitation, Membership

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="concurrent writers need a server database (SQLite locks the whole file)")


def test_three_simultaneous_sign_ups_on_one_link_make_one_account(transactional_db, study_factory, case_factory):
    from tests.factories import ensure_findings_and_sources

    ensure_findings_and_sources()
    study = study_factory("paper", status="open")
    case_factory(study, source="real")
    invitation = Invitation.objects.create(study=study)
    start = threading.Barrier(3)
    statuses = []

    def sign_up(name: str) -> None:
        try:
            client = Client()
            start.wait()
            response = client.post(f"/invite/{invitation.token}/",
                                   {"username": name, "password1": "Sturdy-pass-481", "password2": "Sturdy-pass-481"})
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign_up, args=(f"newcomer{index}",)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302, 302, 302]  # the winner to the studies, the others to the login page with a message
    assert get_user_model().objects.filter(username__startswith="newcomer").count() == 1
    assert Membership.objects.filter(study=study).count() == 1
    invitation.refresh_from_db()
    assert invitation.used_by.username.startswith("newcomer")
