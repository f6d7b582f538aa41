"""The content types (and so the permissions and admin log entries) of the moved models follow them: ``protocol.*`` to
``reading`` (the audit trail and invitations to ``studies``) and ``studies.vote`` to ``reading.vote``. A database
that has none of them yet (a new one: content types are created after migrating) has nothing to move."""
from django.db import migrations

MOVED = {("studies", "vote"): "reading", ("protocol", "auditentry"): "studies", ("protocol", "invitation"): "studies"}
READING_FROM_PROTOCOL = ("studyprotocol", "fakecue", "practiceimage", "sequenceslot", "repeatvote", "practicevote",
                         "fakereason", "staircasetrack", "imageshowing")


def _moves(forwards: bool):
    moves = dict(MOVED)
    moves.update({("protocol", model): "reading" for model in READING_FROM_PROTOCOL})
    for (old_app, model), new_app in moves.items():
        yield ((old_app, model), new_app) if forwards else ((new_app, model), old_app)


def _move(apps, forwards: bool) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for (app_label, model), new_app in _moves(forwards):
        if not content_type.objects.filter(app_label=new_app, model=model).exists():
            content_type.objects.filter(app_label=app_label, model=model).update(app_label=new_app)


def forwards(apps, schema_editor) -> None:
    _move(apps, forwards=True)


def backwards(apps, schema_editor) -> None:
    _move(apps, forwards=False)


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("reading", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
