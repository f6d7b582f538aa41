"""Seed the paper's six findings and four sources."""
from django.db import migrations

FINDINGS = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia", "Pneumothorax"]
SOURCES = [("Real", "real", True), ("StarGAN", "stargan", False), ("Pix2Pix", "pix2pix", False),
           ("Pix2Pix-N", "pix2pix-n", False)]


def seed(apps, schema_editor):
    Finding = apps.get_model("studies", "Finding")
    Source = apps.get_model("studies", "Source")
    for order, name in enumerate(FINDINGS):
        Finding.objects.get_or_create(slug=name.lower(), defaults={"name": name, "order": order})
    for order, (name, slug, is_real) in enumerate(SOURCES):
        Source.objects.get_or_create(slug=slug, defaults={"name": name, "is_real": is_real, "order": order})


class Migration(migrations.Migration):
    dependencies = [("studies", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
