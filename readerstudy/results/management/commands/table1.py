"""python manage.py table1 --study SLUG --format csv|md|json: the paper's Table 1 from a study's votes."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from readerstudy.results.services import build_table1
from readerstudy.studies.commands import add_acting_user_argument, study_for_command

FORMATS = ("csv", "md", "json")


class Command(BaseCommand):
    help = "Print Table 1 (images each reader judged real, per finding and source) as CSV, Markdown or JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="the study's slug")
        parser.add_argument("--format", default="md", help=f"one of {', '.join(FORMATS)} (default md)")
        add_acting_user_argument(parser)

    def handle(self, *args, study: str, format: str, acting_user: str | None = None, **options) -> None:
        if format not in FORMATS:
            raise CommandError(f"Unknown format {format!r}: choose one of {', '.join(FORMATS)}.")
        found, _actor = study_for_command(study, acting_user, "table1")
        table = build_table1(found)
        if format == "json":
            self.stdout.write(json.dumps(table.as_dict(), indent=2))
        elif format == "csv":
            self.stdout.write(table.as_csv(), ending="")
        else:
            self.stdout.write(table.as_markdown(), ending="")
