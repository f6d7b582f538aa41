from django.core.management.base import BaseCommand, CommandError

from readerstudy.reading.creation import StudySetUp, study_set_up
from readerstudy.reading.services import ProtocolError
from readerstudy.studies.commands import OPERATOR, add_acting_user_argument
from readerstudy.studies.commands import acting_user as account_for
from readerstudy.studies.services import audit


def _slugs(text: str | None) -> list[str] | None:
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


class Command(BaseCommand):
    help = ("Create a draft study, complete (findings, sources, protocol, admins), as the New study page does: "
            "create_study SLUG --name NAME [--findings a,b] [--sources real,pix2pix] [--as USERNAME] "
            "(the acting user is its first admin)")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")
        parser.add_argument("--findings", default=None, help="finding slugs, comma-separated (default: all)")
        parser.add_argument("--sources", default=None, help="source slugs, comma-separated (default: all)")
        parser.add_argument("--allow-vote-changes", action="store_true")
        parser.add_argument("--show-finding", action="store_true")
        parser.add_argument("--ask-confidence", action="store_true")
        parser.add_argument("--admin", action="append", default=[], help="another admin (a staff username)")
        add_acting_user_argument(parser)

    def handle(self, *args, slug, name, description, findings, sources, allow_vote_changes, show_finding,
               ask_confidence, admin, acting_user: str | None = None, **options):
        creator = account_for(acting_user)
        setup = StudySetUp(name=name, slug=slug, description=description, findings=_slugs(findings),
                           sources=_slugs(sources), allow_vote_changes=allow_vote_changes, show_finding=show_finding,
                           ask_confidence=ask_confidence, admins=admin)
        try:
            study = study_set_up(setup, creator=creator)
        except ProtocolError as exc:
            raise CommandError(str(exc)) from None
        audit(study, creator, "command", field="create_study",
              new=f"as {creator.get_username()}" if creator is not None else OPERATOR)
        self.stdout.write(f"Created study {study.slug} ({study.name}), status draft.")
        admins = list(study.administrators.values_list("user__username", flat=True))
        if not admins:
            self.stdout.write(f"It has no admin yet (only superusers can manage it): "
                              f"python manage.py study_admins {study.slug} --grant USERNAME")
        else:
            self.stdout.write(f"Its admin{'s are' if len(admins) > 1 else ' is'} {', '.join(admins)}.")
