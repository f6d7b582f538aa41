from django.core.management.base import BaseCommand, CommandError

from readerstudy.studies.commands import OPERATOR, add_acting_user_argument
from readerstudy.studies.commands import acting_user as account_for
from readerstudy.studies.models import Study
from readerstudy.studies.services import audit, study_create


class Command(BaseCommand):
    help = ("Create a draft study over all findings and sources: create_study SLUG --name NAME [--as USERNAME] "
            "(the acting user is its first admin)")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")
        parser.add_argument("--allow-vote-changes", action="store_true")
        parser.add_argument("--show-finding", action="store_true")
        parser.add_argument("--ask-confidence", action="store_true")
        add_acting_user_argument(parser)

    def handle(self, *args, slug, name, description, allow_vote_changes, show_finding, ask_confidence,
               acting_user: str | None = None, **options):
        if Study.objects.filter(slug=slug).exists():
            raise CommandError(f"A study with slug {slug!r} already exists.")
        creator = account_for(acting_user)
        study = study_create(slug=slug, name=name, description=description, allow_vote_changes=allow_vote_changes,
                             show_finding=show_finding, ask_confidence=ask_confidence, created_by=creator)
        audit(study, creator, "command", field="create_study",
              new=f"as {creator.get_username()}" if creator is not None else OPERATOR)
        self.stdout.write(f"Created study {study.slug} ({study.name}), status draft.")
        if creator is None:
            self.stdout.write(f"It has no admin yet (only superusers can manage it): "
                              f"python manage.py study_admins {study.slug} --grant USERNAME")
        else:
            self.stdout.write(f"{creator.get_username()} is its admin.")
