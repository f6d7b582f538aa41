"""python manage.py results_report --study SLUG [--format md|json]: the study's results led by its main comparisons,
as the Markdown report or the JSON document of ``GET /api/studies/SLUG/statistics/``."""
from __future__ import annotations

import json

from readerstudy.results.management.study_output import StudyOutputCommand
from readerstudy.results.report import markdown_report
from readerstudy.results.services import study_results


class Command(StudyOutputCommand):
    help = "Print a study's results (summary, MRMC comparisons, planning, Table 1) as Markdown or JSON."
    formats = ("md", "json")

    def write(self, study, format: str) -> None:
        results = study_results(study)
        if format == "json":
            self.stdout.write(json.dumps(results.report, indent=2))
        else:
            self.stdout.write(markdown_report(results.report, results.table), ending="")
