from django.core.management.base import BaseCommand, CommandError

from readerstudy.studies.models import Study
from readerstudy.studies.services import StudyStateError, study_open


class Command(BaseCommand):
    help = "Open a study for reading: open_study SLUG"

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        try:
            study_open(study)
        except StudyStateError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Study {slug} is open ({study.cases.count()} cases).")
