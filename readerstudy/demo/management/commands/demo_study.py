"""Build the demo: an admin, two readers and an open study of images the project draws itself. Idempotent."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from readerstudy.demo.images import chest_png
from readerstudy.demo.names import DEMO_LOGINS, DEMO_SLUG
from readerstudy.demo.protocol import demo_protocol_apply
from readerstudy.studies.models import Finding, Source, Study
from readerstudy.reading.lifecycle import study_transition
from readerstudy.studies.services import case_create_from_png, reader_add, study_admin_grant, study_create



class Command(BaseCommand):
    help = "Create (or refresh) the demo study with drawn chest-like images, a demo admin and two demo readers."

    def add_arguments(self, parser):
        parser.add_argument("--per-cell", type=int, default=3, help="Images per finding and source (default 3).")

    def handle(self, *args, per_cell: int, **options):
        user_model = get_user_model()
        with transaction.atomic():
            admins = []
            for username, password, is_staff in DEMO_LOGINS:
                user, _ = user_model.objects.get_or_create(username=username)
                user.is_staff = user.is_superuser = is_staff
                user.set_password(password)
                user.save()
                admins += [user] if is_staff else []
            study = Study.objects.filter(slug=DEMO_SLUG).first() or study_create(
                slug=DEMO_SLUG, name="Demo: real or generated?", created_by=admins[0],
                description="A demo study of drawn chest-like images (not patient data).", ask_confidence=False,
            )
            for admin in admins:
                study_admin_grant(study=study, user=admin, actor=admin)  # an earlier demo study too
            if not study.cases.exists():
                for f_index, finding in enumerate(Finding.objects.all()):
                    for s_index, source in enumerate(Source.objects.all()):
                        for k in range(per_cell):
                            seed = 10_000 * f_index + 100 * s_index + k
                            case_create_from_png(study=study, finding=finding, source=source,
                                                 png_bytes=chest_png(finding.slug, source.slug, seed),
                                                 provenance={"demo": True, "seed": seed})
            demo_protocol_apply(study, admins[0])
            for username, _password, is_staff in DEMO_LOGINS:
                if not is_staff:
                    reader_add(study=study, username=username)
            study_transition(study, None, "open")
        self.stdout.write(f"Demo study '{study.slug}' is open with {study.cases.count()} images.")
        self.stdout.write("Logins (username / password):")
        for username, password, is_staff in DEMO_LOGINS:
            self.stdout.write(f"  {username:8} / {password}{'   (study admin)' if is_staff else ''}")
        self.stdout.write("Open http://127.0.0.1:8000/ and log in.")
