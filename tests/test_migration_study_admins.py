"""The upgrade to per-study roles changes nothing for a single-group server: every study that existed before gets its
creator as admin, or, where the creator is unknown, every account that was staff (staff administered every study)."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("studies", "0003_vote_exposure_ms")]
AFTER = [("studies", "0005_existing_studies_get_admins")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_studies_get_their_creator_or_every_staff_user_as_admin():
    old = _migrate(BEFORE)
    user, study = old.get_model("auth", "User"), old.get_model("studies", "Study")
    creator = user.objects.create(username="creator", is_staff=True)
    staff_a = user.objects.create(username="staff-a", is_staff=True)
    staff_b = user.objects.create(username="staff-b", is_staff=True, is_superuser=True)
    user.objects.create(username="reader")
    study.objects.create(slug="known", name="Known creator", created_by=creator)
    study.objects.create(slug="unknown", name="Creator unknown", created_by=None)
    try:
        new = _migrate(AFTER)
        admins = new.get_model("studies", "StudyAdministrator")
        by_study = {slug: sorted(admins.objects.filter(study__slug=slug).values_list("user__username", flat=True))
                    for slug in ("known", "unknown")}
        assert by_study == {"known": ["creator"], "unknown": sorted(["creator", staff_a.username, staff_b.username])}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest state for the tests after this


@pytest.mark.django_db(transaction=True)
def test_after_the_upgrade_the_staff_user_still_administers_an_old_study(client):
    old = _migrate(BEFORE)
    old_user = old.get_model("auth", "User").objects.create(username="staff", is_staff=True)
    old.get_model("studies", "Study").objects.create(slug="old", name="Old", created_by=None)
    try:
        _migrate(AFTER)
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())  # the app's models are the latest ones
        from django.contrib.auth import get_user_model

        client.force_login(get_user_model().objects.get(pk=old_user.pk))
        assert client.get("/api/studies/old/audit/").status_code == 200
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
