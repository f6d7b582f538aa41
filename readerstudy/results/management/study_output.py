"""What the commands that print a study's results share: ``--study SLUG``, ``--format`` (one of the command's),
``--as USERNAME``, and the study found, checked and audited before anything is printed."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from readerstudy.studies.commands import add_acting_user_argument, study_for_command
from readerstudy.studies.models import Study


class StudyOutputCommand(BaseCommand):
    """A command printing ``write(study, format)`` in one of its ``formats`` (md by default)."""

    formats: tuple[str, ...] = ()

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="the study's slug")
        parser.add_argument("--format", default="md", help=f"one of {', '.join(self.formats)} (default md)")
        add_acting_user_argument(parser)

    def handle(self, *args, study: str, format: str, acting_user: str | None = None, **options) -> None:
        if format not in self.formats:
            raise CommandError(f"Unknown format {format!r}: choose one of {', '.join(self.formats)}.")
        command = self.__module__.rsplit(".", 1)[-1]  # the name manage.py knows it by, for the audit entry
        found, _actor = study_for_command(study, acting_user, command)
        self.write(found, format)

    def write(self, study: Study, format: str) -> None:
        raise NotImplementedError
