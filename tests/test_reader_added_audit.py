"""A reader added by the readers page, by the API or by ``manage.py add_reader`` is audited the same way, by the
service, in the transaction that adds them: if the addition fails, no account, membership or entry is left."""
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from readerstudy.reading import services as reading_services
from readerstudy.studies.models import AuditEntry, Membership


def by_page(study, staff_user, username):
    client = Client()
    client.force_login(staff_user)
    client.post(f"/studies/{study.slug}/readers/", {"action": "add", "username": username})


def by_api(study, staff_user, username):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff_user)
    client.post(f"/api/studies/{study.slug}/readers/", {"username": username}, format="json")


def by_command(study, staff_user, username):
    call_command("add_reader", study.slug, username, acting_user=staff_user.username)


WAYS = [by_page, by_api, by_command]


def entry_shape(entry: AuditEntry) -> tuple:
    return entry.study_id, entry.actor_id, entry.action, entry.field, entry.old_value, entry.new_value


@pytest.mark.parametrize("add", WAYS, ids=lambda way: way.__name__)
def test_each_way_of_adding_a_reader_writes_the_same_audit_entry(add, study_factory, staff_user):
    study = study_factory("audited", status="open")
    add(study, staff_user, "newcomer")
    membership = Membership.objects.get(study=study, user__username="newcomer")
    [entry] = AuditEntry.objects.filter(study=study, action="reader_added")
    assert entry_shape(entry) == (study.pk, staff_user.pk, "reader_added", "readers", "", membership.pseudonym)


@pytest.mark.parametrize("add", WAYS, ids=lambda way: way.__name__)
def test_a_failed_addition_leaves_no_account_membership_or_entry(add, study_factory, staff_user, monkeypatch):
    study = study_factory("audited", status="open")

    def broken_freeze(membership):
        raise RuntimeError("the sequence could not be stored")

    monkeypatch.setattr(reading_services, "freeze_sequence", broken_freeze)
    with pytest.raises(RuntimeError, match="could not be stored"):
        add(study, staff_user, "newcomer")
    assert not get_user_model().objects.filter(username="newcomer").exists()
    assert not Membership.objects.filter(study=study).exists()
    assert not AuditEntry.objects.filter(action="reader_added").exists()
