"""The ids of repeat and practice showings that a spreadsheet could read as a formula (about 1 in 64 of the old
URL-safe ids started with "-") get a new id of letters and digits, unique like every id; then a constraint keeps every
id that way. Readers never keep these ids (the reading page asks for the next showing each time)."""
import secrets
import string

from django.db import migrations, models

ALPHABET = string.ascii_letters + string.digits


def rewrite_formula_like_ids(apps, schema_editor):
    Case = apps.get_model("studies", "Case")
    SequenceSlot = apps.get_model("reading", "SequenceSlot")
    taken = set(Case.objects.values_list("public_id", flat=True))
    taken |= set(SequenceSlot.objects.exclude(public_id=None).values_list("public_id", flat=True))
    for slot in SequenceSlot.objects.filter(public_id__regex=r"^[-=+@\t\r]").only("pk", "public_id"):
        while slot.public_id in taken or slot.public_id[0] not in ALPHABET:
            slot.public_id = "".join(secrets.choice(ALPHABET) for _ in range(16))
        taken.add(slot.public_id)
        slot.save(update_fields=["public_id"])


class Migration(migrations.Migration):

    dependencies = [
        ('reading', '0002_moved_content_types'),
        ('studies', '0009_case_public_ids_never_start_like_a_formula'),
    ]

    operations = [
        migrations.RunPython(rewrite_formula_like_ids, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='sequenceslot',
            constraint=models.CheckConstraint(condition=models.Q(('public_id__isnull', True), models.Q(models.Q(('public_id__startswith', '='), _negated=True), models.Q(('public_id__startswith', '+'), _negated=True), models.Q(('public_id__startswith', '-'), _negated=True), models.Q(('public_id__startswith', '@'), _negated=True), models.Q(('public_id__startswith', '\t'), _negated=True), models.Q(('public_id__startswith', '\r'), _negated=True)), _connector='OR'), name='slot_public_id_never_starts_like_a_formula'),
        ),
    ]
