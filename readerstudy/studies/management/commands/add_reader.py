from django.core.management.base import BaseCommand

from readerstudy.studies.commands import add_acting_user_argument, study_for_command
from readerstudy.studies.services import reader_add


class Command(BaseCommand):
    help = "Add a reader to a study, creating the account if needed: add_reader SLUG USERNAME [--password P]"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("username")
        parser.add_argument("--password", default=None)
        add_acting_user_argument(parser)

    def handle(self, *args, slug, username, password, acting_user, **options):
        study, actor = study_for_command(slug, acting_user, "add_reader")
        membership, created = reader_add(study=study, username=username, password=password, actor=actor)
        verb = "Added" if created else "Already a reader:"
        self.stdout.write(f"{verb} {username} in {slug} as {membership.pseudonym}.")
