"""Case ids that a spreadsheet could read as a formula (the old ids were URL-safe base64: about 1 in 64 started with
"-") get a new id of letters and digits, unique like every id; each change is written to the study's audit trail
(old and new id), so a file exported before it can still be joined. Then a constraint keeps every id that way."""
import secrets
import string

from django.db import migrations, models

ALPHABET = string.ascii_letters + string.digits


def fresh_id(taken: set[str]) -> str:
    while True:
        public_id = "".join(secrets.choice(ALPHABET) for _ in range(16))
        if public_id not in taken:
            taken.add(public_id)
            return public_id


def rewrite_formula_like_ids(apps, schema_editor):
    Case = apps.get_model("studies", "Case")
    AuditEntry = apps.get_model("studies", "AuditEntry")
    SequenceSlot = apps.get_model("reading", "SequenceSlot")
    taken = set(Case.objects.values_list("public_id", flat=True))
    taken |= set(SequenceSlot.objects.exclude(public_id=None).values_list("public_id", flat=True))
    for case in Case.objects.filter(public_id__regex=r"^[-=+@\t\r]").only("pk", "study_id", "public_id"):
        old = case.public_id
        case.public_id = fresh_id(taken)
        case.save(update_fields=["public_id"])
        AuditEntry.objects.create(study_id=case.study_id, action="case id changed", field="public_id",
                                  old_value=old, new_value=case.public_id)


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0008_case_origin_seen'),
        ('reading', '0002_moved_content_types'),
    ]

    operations = [
        migrations.RunPython(rewrite_formula_like_ids, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='case',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('public_id__startswith', '='), _negated=True), models.Q(('public_id__startswith', '+'), _negated=True), models.Q(('public_id__startswith', '-'), _negated=True), models.Q(('public_id__startswith', '@'), _negated=True), models.Q(('public_id__startswith', '\t'), _negated=True), models.Q(('public_id__startswith', '\r'), _negated=True)), name='case_public_id_never_starts_like_a_formula'),
        ),
    ]
