from django.db import migrations


class Migration(migrations.Migration):
    """Joins main's case exclusion (0004_case_exclusion) and per-study roles (0004-0005)."""

    dependencies = [
        ("studies", "0004_case_exclusion"),
        ("studies", "0005_existing_studies_get_admins"),
    ]

    operations = []
