"""The move of votes, sequences and the protocol into the ``reading`` app (and of the audit trail and invitations into
``studies``) keeps every row: a database built by the migrations before the move, holding one of everything, reads the
same through the new models after the upgrade, and the moved models' content types (and so their permissions) follow
them."""
import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps as current_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The last migrations of main before the move.
BEFORE = [("studies", "0006_merge_exclusion_and_admins"), ("protocol", "0002_image_showings")]
MOVED = {  # (app before, model) -> app after
    ("studies", "vote"): "reading", ("protocol", "studyprotocol"): "reading", ("protocol", "fakecue"): "reading",
    ("protocol", "practiceimage"): "reading", ("protocol", "sequenceslot"): "reading",
    ("protocol", "repeatvote"): "reading", ("protocol", "practicevote"): "reading",
    ("protocol", "fakereason"): "reading", ("protocol", "staircasetrack"): "reading",
    ("protocol", "imageshowing"): "reading", ("protocol", "auditentry"): "studies",
    ("protocol", "invitation"): "studies",
}
KEPT = [("studies", "study"), ("studies", "case"), ("studies", "membership"), ("studies", "studyadministrator")]
MOMENT = dt.datetime(2026, 11, 30, 9, 15, 30, 123456, tzinfo=dt.UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _rows(model) -> dict:
    """Every row of a model as {pk: {column attribute: value}}."""
    names = [field.attname for field in model._meta.concrete_fields]
    return {row["id"]: row for row in model.objects.order_by("pk").values(*names)}


def _one_of_everything(old) -> None:
    """A study with a case, an admin, a reader who cast a vote (with reasons), a repeat vote and a practice vote on
    their frozen sequence, a staircase, a showing, protocol settings, a cue, an invitation and an audit entry, made
    with the models as they were before the move."""
    model = old.get_model
    user = model("auth", "User").objects.create(username="reader-one")
    admin = model("auth", "User").objects.create(username="admin-one", is_staff=True)
    finding = model("studies", "Finding").objects.get_or_create(slug="mig-finding", defaults={"name": "Mig finding"})[0]
    real = model("studies", "Source").objects.get_or_create(slug="mig-real", defaults={"name": "Mig real",
                                                                                        "is_real": True})[0]
    fake = model("studies", "Source").objects.get_or_create(slug="mig-fake", defaults={"name": "Mig fake"})[0]
    study = model("studies", "Study").objects.create(slug="before-the-move", name="Before", status="open",
                                                      allow_vote_changes=True, ask_confidence=True, opened_at=MOMENT)
    model("studies", "StudyAdministrator").objects.create(study=study, user=admin, granted_by=admin)
    case = model("studies", "Case").objects.create(study=study, public_id="case-public-1", image_token="case-token-1",
                                                   image="cases/one.png", pixel_sha256="a" * 64, finding=finding,
                                                   source=fake, provenance={"origin_image": "00001.png"})
    membership = model("studies", "Membership").objects.create(study=study, user=user, number=1, order_seed=4242,
                                                               last_activity_at=MOMENT)
    model("protocol", "StudyProtocol").objects.create(
        study=study, block_size=4, repeat_percent=Decimal("12.50"), practice_count=1, practice_feedback=True,
        exposure_mode="adaptive", exposure_ms=800, staircase_down=3, staircase_factor=Decimal("1.40"),
        ask_fake_reasons=True)
    model("protocol", "FakeCue").objects.create(study=study, label="Rib pattern", order=2)
    practice_image = model("protocol", "PracticeImage").objects.create(
        study=study, image="practice/one.png", pixel_sha256="b" * 64, source=real, finding=finding)
    practice_slot = model("protocol", "SequenceSlot").objects.create(
        membership=membership, phase="practice", position=1, practice_image=practice_image, public_id="practice-1",
        image_token="practice-token-1")
    first_slot = model("protocol", "SequenceSlot").objects.create(
        membership=membership, phase="study", position=1, case=case, block=1)
    repeat_slot = model("protocol", "SequenceSlot").objects.create(
        membership=membership, phase="study", position=2, case=case, is_repeat=True, segment=0, block=1,
        public_id="repeat-1", image_token="repeat-token-1")
    vote = model("studies", "Vote").objects.create(membership=membership, case=case, answer="fake", confidence=4,
                                                   time_ms=1234, exposure_ms=800, position=1)
    model("protocol", "FakeReason").objects.create(vote=vote, cues=["Rib pattern"], note="ribs too regular")
    model("protocol", "RepeatVote").objects.create(slot=repeat_slot, membership=membership, case=case, answer="real",
                                                   confidence=2, time_ms=999, exposure_ms=640)
    model("protocol", "PracticeVote").objects.create(slot=practice_slot, membership=membership, answer="real",
                                                     confidence=5, time_ms=321)
    model("protocol", "StaircaseTrack").objects.create(membership=membership, source=fake, level_ms=640,
                                                       correct_run=1, direction=-1, reversals=[800, 640], trials=7)
    model("protocol", "ImageShowing").objects.create(token="showing-token-1", membership=membership, slot=first_slot,
                                                     issued_at=MOMENT, shown_at=MOMENT, expires_at=MOMENT,
                                                     flagged_at=MOMENT)
    model("protocol", "AuditEntry").objects.create(study=study, actor=admin, action="setting", field="block_size",
                                                   old_value="0", new_value="4")
    model("protocol", "Invitation").objects.create(study=study, token="invitation-token-1", note="Dr Lee",
                                                   created_by=admin, used_by=user, used_at=MOMENT)


@pytest.mark.django_db(transaction=True)
def test_every_row_reads_the_same_through_the_moved_models():
    old = _migrate(BEFORE)
    try:
        _one_of_everything(old)
        before = {key: _rows(old.get_model(*key)) for key in [*MOVED, *KEPT]}
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        for (app, name), rows in before.items():
            new_model = current_apps.get_model(MOVED.get((app, name), app), name)
            assert rows, f"{app}.{name}: nothing was written before the move"
            after = {pk: {column: row[column] for column in rows[pk]} for pk, row in _rows(new_model).items()}
            assert after == rows, f"{app}.{name} changed on the way to {new_model._meta.label}"  # columns added
            # since (a staircase's lane, an invitation's expiry) are not compared
    finally:
        _latest()


@pytest.mark.django_db(transaction=True)
def test_the_moved_models_keep_their_content_types_and_permissions():
    from django.contrib.auth.models import Permission as permission
    from django.contrib.contenttypes.models import ContentType as content_type

    _migrate(BEFORE)
    try:
        content_type.objects.clear_cache()
        # The database as main left it: content types under the old labels (the new ones do not exist yet).
        content_type.objects.filter(app_label="reading").delete()
        content_type.objects.filter(app_label="studies", model__in=["auditentry", "invitation"]).delete()
        granted = {}
        for (app, name) in MOVED:
            old_type, _ = content_type.objects.get_or_create(app_label=app, model=name)
            granted[(app, name)] = permission.objects.create(content_type=old_type, codename=f"view_{name}_old",
                                                             name=f"Can view {name}").pk
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        content_type.objects.clear_cache()
        for (app, name), new_app in MOVED.items():
            moved = permission.objects.get(pk=granted[(app, name)]).content_type
            assert (moved.app_label, moved.model) == (new_app, name)
            assert moved.model_class() is current_apps.get_model(new_app, name)
        assert not content_type.objects.filter(app_label="protocol").exists()
    finally:
        _latest()
