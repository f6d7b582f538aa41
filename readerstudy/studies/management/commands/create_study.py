from django.core.management.base import BaseCommand, CommandError

from readerstudy.studies.models import Study
from readerstudy.studies.services import study_create


class Command(BaseCommand):
    help = "Create a draft study over all findings and sources: create_study SLUG --name NAME"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")
        parser.add_argument("--allow-vote-changes", action="store_true")
        parser.add_argument("--show-finding", action="store_true")
        parser.add_argument("--ask-confidence", action="store_true")

    def handle(self, *args, slug, name, description, allow_vote_changes, show_finding, ask_confidence, **options):
        if Study.objects.filter(slug=slug).exists():
            raise CommandError(f"A study with slug {slug!r} already exists.")
        study = study_create(slug=slug, name=name, description=description, allow_vote_changes=allow_vote_changes,
                             show_finding=show_finding, ask_confidence=ask_confidence)
        self.stdout.write(f"Created study {study.slug} ({study.name}), status draft.")
