from django.core.management.base import BaseCommand, CommandError

from readerstudy.reading.lifecycle import study_transition
from readerstudy.reading.services import ProtocolError
from readerstudy.studies.commands import add_acting_user_argument, study_for_command
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = "Open a study for reading: open_study SLUG (the lifecycle's checks and audit; a closed study stays closed)"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        add_acting_user_argument(parser)

    def handle(self, *args, slug, acting_user, **options):
        study, actor = study_for_command(slug, acting_user, "open_study")
        try:
            study_transition(study, actor, Study.Status.OPEN)
        except ProtocolError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Study {slug} is open ({study.cases.count()} cases).")
