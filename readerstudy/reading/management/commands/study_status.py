from django.core.management.base import BaseCommand, CommandError

from readerstudy.reading.lifecycle import consequences, study_transition
from readerstudy.reading.services import ProtocolError
from readerstudy.studies.commands import add_acting_user_argument, study_for_command
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = ("Move a study along its lifecycle: study_status SLUG open|paused|closed [--yes]. A change that cannot be "
            "undone (opening a draft, closing) says what it does and needs --yes, as the pages ask first.")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("status", choices=[Study.Status.OPEN, Study.Status.PAUSED, Study.Status.CLOSED])
        parser.add_argument("--yes", action="store_true", help="confirm a change that cannot be undone")
        add_acting_user_argument(parser)

    def handle(self, *args, slug, status, yes, acting_user, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        try:
            said = consequences(study, status)
        except ProtocolError as exc:
            raise CommandError(str(exc)) from None
        if said.final and study.status != status and not yes:
            raise CommandError("\n".join([f"{said.verb} {slug}? This cannot be undone:", *(f"  - {line}" for line
                                                                                          in said.lines),
                                          "Run again with --yes to confirm."]))
        study, actor = study_for_command(slug, acting_user, "study_status")
        try:
            study_transition(study, actor, status)
        except ProtocolError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Study {slug} is {study.get_status_display().lower()}.")
