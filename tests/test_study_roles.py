"""Per-study roles: a study's admins administer that study only; the creator is the first admin; admins grant and
remove admin rights (audited, never the last one); a superuser reaches every study, and outside their own every page
says so and the access is audited; commands name who acts; lists show each user only their studies."""
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from readerstudy.studies.models import AuditEntry, Membership, StudyAdministrator
from readerstudy.studies.operator import OPERATOR_HEADER
from readerstudy.studies.permissions import ADMINISTER_STUDY, administered_by
from readerstudy.studies.selectors import study_for_staff
from tests.factories import create_case, create_study


def _user(username: str, **flags):
    return get_user_model().objects.create_user(username, password="pass-12345678", **flags)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _actions(study) -> list[tuple]:
    return list(AuditEntry.objects.filter(study=study).order_by("pk")
                .values_list("actor__username", "action", "field", "old_value", "new_value"))


@pytest.fixture
def two_groups(db):
    """Two research groups on one server: alice administers "lung", bob administers "heart"."""
    alice, bob = _user("alice", is_staff=True), _user("bob", is_staff=True)
    lung = create_study("lung", status="open", admins=[alice])
    heart = create_study("heart", status="open", admins=[bob])
    create_case(lung, source="real")
    create_case(heart, source="real")
    return {"alice": alice, "bob": bob, "lung": lung, "heart": heart}


def test_whoever_creates_a_study_is_its_first_admin_and_the_grant_is_audited(db):
    carol = _user("carol", is_staff=True)
    response = _api(carol).post("/api/studies/", {"slug": "new", "name": "New"}, format="json")
    assert response.status_code == 201
    assert list(StudyAdministrator.objects.filter(study__slug="new").values_list("user__username", flat=True)) == [
        "carol"]
    assert ("carol", "admin_granted", "admin", "", "carol") in _actions(StudyAdministrator.objects.get().study)
    assert _api(carol).get("/api/studies/new/protocol/").status_code == 200
    assert _api(_user("dave", is_staff=True)).get("/api/studies/new/protocol/").status_code == 404


def test_staff_alone_administers_nothing(two_groups):
    eve = _user("eve", is_staff=True)
    assert not eve.has_perm(ADMINISTER_STUDY, two_groups["lung"])
    assert _api(eve).get("/api/studies/lung/statistics/").status_code == 404
    assert _api(eve).get("/api/studies/").json() == []


def test_an_admin_grants_and_removes_admins_audited_but_never_the_last(two_groups):
    alice, lung = two_groups["alice"], two_groups["lung"]
    frank = _user("frank")  # not staff yet: becoming a study admin makes the account staff
    Membership.objects.create(study=lung, user=frank, number=90)  # a grant reaches the study's readers (issue 29)
    assert _api(alice).post("/api/studies/lung/admins/", {"username": "frank"}, format="json").status_code == 201
    frank.refresh_from_db()
    assert frank.is_staff and frank.has_perm(ADMINISTER_STUDY, lung)
    assert _api(frank).get("/api/studies/lung/audit/").status_code == 200
    assert _api(frank).get("/api/studies/heart/audit/").status_code == 404

    assert _api(frank).delete("/api/studies/lung/admins/alice/").status_code == 204
    last = _api(frank).delete("/api/studies/lung/admins/frank/")
    assert last.status_code == 409 and "last admin" in last.json()["detail"]
    assert _api(frank).delete("/api/studies/lung/admins/nobody/").status_code == 404
    assert _api(alice).get("/api/studies/lung/admins/").status_code == 404  # alice's rights are gone
    assert [a["username"] for a in _api(frank).get("/api/studies/lung/admins/").json()] == ["frank"]
    assert [row for row in _actions(lung) if row[1].startswith("admin_")] == [
        ("alice", "admin_granted", "admin", "", "frank"),
        ("frank", "admin_revoked", "admin", "alice", ""),
    ]


def test_the_admin_of_one_study_cannot_grant_themselves_another(two_groups):
    response = _api(two_groups["alice"]).post("/api/studies/heart/admins/", {"username": "alice"}, format="json")
    assert response.status_code == 404
    assert not StudyAdministrator.objects.filter(study=two_groups["heart"], user=two_groups["alice"]).exists()


def test_the_study_list_shows_each_user_only_their_studies(two_groups):
    reader = _user("reader")
    from readerstudy.studies.services import reader_add

    reader_add(study=two_groups["heart"], username="reader")
    assert [s["slug"] for s in _api(two_groups["alice"]).get("/api/studies/").json()] == ["lung"]
    assert [s["slug"] for s in _api(reader).get("/api/studies/").json()] == ["heart"]
    page = _page(two_groups["alice"]).get("/").content.decode()
    assert "/studies/lung/results/" in page and "/studies/heart/" not in page
    root = _user("root", is_staff=True, is_superuser=True)
    assert [s["slug"] for s in _api(root).get("/api/studies/").json()] == ["heart", "lung"]


def test_a_superuser_outside_their_studies_is_told_on_every_page_and_audited(two_groups):
    root = _user("root", is_staff=True, is_superuser=True)
    create_study("own", admins=[root])
    page = _page(root).get("/studies/lung/results/")
    assert page.status_code == 200
    assert "Operator access" in page.content.decode() and "lung" in page[OPERATOR_HEADER]
    api = _api(root).get("/api/studies/lung/export.csv")
    assert api.status_code == 200 and "lung" in api[OPERATOR_HEADER]
    entries = [row for row in _actions(two_groups["lung"]) if row[1] == "operator_access"]
    assert entries == [("root", "operator_access", "superuser", "", "GET /studies/lung/results/"),
                       ("root", "operator_access", "superuser", "", "GET /api/studies/lung/export.csv")]

    own = _page(root).get("/studies/own/protocol/")
    assert own.status_code == 200 and OPERATOR_HEADER not in own
    assert "Operator access" not in own.content.decode()
    assert not AuditEntry.objects.filter(study__slug="own", action="operator_access").exists()


def test_a_superusers_look_at_another_studys_image_is_audited(two_groups):
    root = _user("root", is_staff=True, is_superuser=True)
    case = two_groups["heart"].cases.get()
    assert _page(root).get(f"/i/{case.image_token}.png").status_code == 200
    assert [row[1] for row in _actions(two_groups["heart"])] == ["operator_access"]
    assert _page(two_groups["alice"]).get(f"/i/{case.image_token}.png").status_code == 404
    assert _page(two_groups["bob"]).get(f"/i/{case.image_token}.png").status_code == 200


def test_a_superusers_look_at_a_readers_showing_in_another_study_is_audited(two_groups):
    from readerstudy.studies.services import reader_add

    reader_add(study=two_groups["heart"], username="hal")
    hal = get_user_model().objects.get(username="hal")
    shown = _api(hal).get("/api/studies/heart/next/").json()["image_url"]
    root = _user("root", is_staff=True, is_superuser=True)
    assert _page(root).get(shown).status_code == 200
    assert [row[1] for row in _actions(two_groups["heart"]) if row[1] == "operator_access"] == ["operator_access"]
    assert _page(two_groups["bob"]).get(shown).status_code == 200
    assert _page(two_groups["alice"]).get(shown).status_code == 404


def test_study_for_staff_is_the_central_check_and_administered_by_filters_querysets(two_groups):
    from django.http import Http404

    from readerstudy.studies.models import Case

    alice = two_groups["alice"]
    assert study_for_staff(alice, "lung") == two_groups["lung"]
    with pytest.raises(Http404):
        study_for_staff(alice, "heart")
    assert set(administered_by(alice, Case.objects.all()).values_list("study__slug", flat=True)) == {"lung"}


def test_commands_name_the_acting_user_or_run_as_operator_and_say_so(two_groups):
    call_command("add_reader", "lung", "ann", "--as", "alice")
    with pytest.raises(CommandError, match="bob does not administer study 'lung'"):
        call_command("add_reader", "lung", "ben", "--as", "bob")
    call_command("open_study", "lung")
    commands = [row for row in _actions(two_groups["lung"]) if row[1] == "command"]
    assert commands == [("alice", "command", "add_reader", "", "as alice"),
                        (None, "command", "open_study", "", "operator (server shell, superuser rights)")]


def test_the_admins_command_grants_and_refuses_to_remove_the_last(two_groups):
    call_command("study_admins", "lung", "--grant", "bob", "--as", "alice")
    call_command("study_admins", "lung", "--revoke", "alice", "--as", "bob")
    with pytest.raises(CommandError, match="last admin"):
        call_command("study_admins", "lung", "--revoke", "bob")
    assert list(StudyAdministrator.objects.filter(study=two_groups["lung"]).values_list("user__username",
                                                                                        flat=True)) == ["bob"]


def test_create_study_makes_the_acting_user_its_admin(db):
    _user("gina", is_staff=True)
    call_command("create_study", "gina-study", "--name", "Gina's", "--as", "gina")
    assert list(StudyAdministrator.objects.filter(study__slug="gina-study").values_list("user__username",
                                                                                        flat=True)) == ["gina"]


def test_the_readers_page_grants_and_removes_admins(two_groups):
    alice, lung = two_groups["alice"], two_groups["lung"]
    Membership.objects.create(study=lung, user=_user("hank"), number=90)  # a grant reaches the study's readers
    client = _page(alice)
    client.post("/studies/lung/readers/", {"action": "grant_admin", "username": "hank"})
    page = client.get("/studies/lung/readers/").content.decode()
    assert 'data-admin="hank"' in page and 'data-admin="alice"' in page
    client.post("/studies/lung/readers/", {"action": "revoke_admin", "username": "hank"})
    refused = client.post("/studies/lung/readers/", {"action": "revoke_admin", "username": "alice"}, follow=True)
    assert "last admin" in refused.content.decode()
    assert list(StudyAdministrator.objects.filter(study=lung).values_list("user__username", flat=True)) == ["alice"]
    assert [row[1] for row in _actions(lung)] == ["admin_granted", "admin_revoked"]


def test_the_drf_permission_checks_an_objects_study(two_groups):
    from django.http import Http404
    from rest_framework.test import APIRequestFactory

    from readerstudy.batches.models import Batch
    from readerstudy.studies.api_permissions import IsStudyAdmin

    heart_batch = Batch.objects.create(study=two_groups["heart"], zip_sha256="d" * 64)
    request = APIRequestFactory().get("/")
    request.user = two_groups["alice"]
    with pytest.raises(Http404):
        IsStudyAdmin().has_object_permission(request, None, heart_batch)
    request.user = two_groups["bob"]
    assert IsStudyAdmin().has_object_permission(request, None, heart_batch)
