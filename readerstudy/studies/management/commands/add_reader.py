from django.core.management.base import BaseCommand, CommandError

from readerstudy.studies.models import Study
from readerstudy.studies.services import reader_add


class Command(BaseCommand):
    help = "Add a reader to a study, creating the account if needed: add_reader SLUG USERNAME [--password P]"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("username")
        parser.add_argument("--password", default=None)

    def handle(self, *args, slug, username, password, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        membership, created = reader_add(study=study, username=username, password=password)
        verb = "Added" if created else "Already a reader:"
        self.stdout.write(f"{verb} {username} in {slug} as {membership.pseudonym}.")
