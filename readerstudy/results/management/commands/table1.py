"""python manage.py table1 --study SLUG --format csv|md|json: the paper's Table 1 from a study's votes."""
from __future__ import annotations

import json

from readerstudy.results.management.study_output import StudyOutputCommand
from readerstudy.results.services import build_table1


class Command(StudyOutputCommand):
    help = "Print Table 1 (images each reader judged real, per finding and source) as CSV, Markdown or JSON."
    formats = ("csv", "md", "json")

    def write(self, study, format: str) -> None:
        table = build_table1(study)
        if format == "json":
            self.stdout.write(json.dumps(table.as_dict(), indent=2))
        elif format == "csv":
            self.stdout.write(table.as_csv(), ending="")
        else:
            self.stdout.write(table.as_markdown(), ending="")
