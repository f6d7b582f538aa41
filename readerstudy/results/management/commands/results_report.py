"""python manage.py results_report --study SLUG [--format md|json]: the study's results led by its main comparisons,
as the Markdown report or the JSON document of ``GET /api/studies/SLUG/statistics/``."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from readerstudy.results.report import markdown_report
from readerstudy.results.services import study_results
from readerstudy.studies.commands import add_acting_user_argument, study_for_command

FORMATS = ("md", "json")


class Command(BaseCommand):
    help = "Print a study's results (summary, MRMC comparisons, planning, Table 1) as Markdown or JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="the study's slug")
        parser.add_argument("--format", default="md", help=f"one of {', '.join(FORMATS)} (default md)")
        add_acting_user_argument(parser)

    def handle(self, *args, study: str, format: str, acting_user: str | None = None, **options) -> None:
        if format not in FORMATS:
            raise CommandError(f"Unknown format {format!r}: choose one of {', '.join(FORMATS)}.")
        found, _actor = study_for_command(study, acting_user, "results_report")
        results = study_results(found)
        if format == "json":
            self.stdout.write(json.dumps(results.report, indent=2))
        else:
            self.stdout.write(markdown_report(results.report, results.table), ending="")
