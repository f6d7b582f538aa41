"""Every study that exists before per-study roles gets admins, so a single-group server works as before the upgrade:
the study's creator where it is known, otherwise every account that is staff now (staff administered every study)."""
from django.conf import settings
from django.db import migrations


def give_existing_studies_admins(apps, schema_editor):
    Study = apps.get_model("studies", "Study")
    StudyAdministrator = apps.get_model("studies", "StudyAdministrator")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    staff_ids = list(User.objects.filter(is_staff=True).order_by("pk").values_list("pk", flat=True))
    rows = []
    for study_id, creator_id in Study.objects.order_by("pk").values_list("pk", "created_by_id"):
        for user_id in [creator_id] if creator_id is not None else staff_ids:
            rows.append(StudyAdministrator(study_id=study_id, user_id=user_id))
    StudyAdministrator.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0004_study_administrators"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(give_existing_studies_admins, migrations.RunPython.noop)]
