from django.core.management.base import BaseCommand, CommandError

from readerstudy.studies.commands import add_acting_user_argument, study_for_command
from readerstudy.studies.services import StudyStateError, study_open


class Command(BaseCommand):
    help = "Open a study for reading: open_study SLUG"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        add_acting_user_argument(parser)

    def handle(self, *args, slug, acting_user, **options):
        study, _actor = study_for_command(slug, acting_user, "open_study")
        try:
            study_open(study)
        except StudyStateError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Study {slug} is open ({study.cases.count()} cases).")
