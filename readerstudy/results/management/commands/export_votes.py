"""python manage.py export_votes --study SLUG [--reader R2] [--usernames] [--output FILE]: every vote as CSV."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from readerstudy.results import export, selectors
from readerstudy.studies.commands import add_acting_user_argument, study_for_command


class Command(BaseCommand):
    help = "Write one CSV row per vote (streamed: memory stays flat however many votes there are)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="the study's slug")
        parser.add_argument("--reader", help="only this reader's votes, by pseudonym (e.g. R2)")
        parser.add_argument("--usernames", action="store_true", help="add each reader's username")
        parser.add_argument("--output", help="write to this file (written next to it, then renamed) instead of stdout")
        add_acting_user_argument(parser)

    def handle(self, *args, study: str, reader: str | None, usernames: bool, output: str | None,
               acting_user: str | None = None, **options) -> None:
        found, _actor = study_for_command(study, acting_user, "export_votes")
        membership = None
        if reader is not None:
            membership = selectors.membership_by_pseudonym(found, reader)
            if membership is None:
                raise CommandError(f"Study {study!r} has no reader {reader!r} (readers are named R1, R2, ...).")
        chunks = export.stream_csv(selectors.votes_for_export(found, membership), usernames)
        if output is None:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        target = Path(output)
        partial = target.with_name(target.name + ".tmp")
        with partial.open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
        partial.replace(target)
        self.stderr.write(f"Wrote {target}")
