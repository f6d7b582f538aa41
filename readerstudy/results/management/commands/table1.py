"""python manage.py table1 --study SLUG --format csv|md|json: the paper's Table 1 from a study's votes."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from readerstudy.results.services import build_table1
from readerstudy.studies.models import Study

FORMATS = ("csv", "md", "json")


class Command(BaseCommand):
    help = "Print Table 1 (images each reader judged real, per finding and source) as CSV, Markdown or JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="the study's slug")
        parser.add_argument("--format", default="md", help=f"one of {', '.join(FORMATS)} (default md)")

    def handle(self, *args, study: str, format: str, **options) -> None:
        if format not in FORMATS:
            raise CommandError(f"Unknown format {format!r}: choose one of {', '.join(FORMATS)}.")
        found = Study.objects.filter(slug=study).first()
        if found is None:
            raise CommandError(f"No study with slug {study!r}.")
        table = build_table1(found)
        if format == "json":
            self.stdout.write(json.dumps(table.as_dict(), indent=2))
        elif format == "csv":
            self.stdout.write(table.as_csv(), ending="")
        else:
            self.stdout.write(table.as_markdown(), ending="")
