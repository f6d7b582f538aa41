"""``python manage.py import_batch ZIP --study SLUG``: the same service as the page and the API, run in-process."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from readerstudy.batches.models import Batch
from readerstudy.batches.services import BatchRejected, batch_create, batch_import
from readerstudy.studies.commands import add_acting_user_argument, study_for_command


class Command(BaseCommand):
    help = "Import a batch zip (manifest.csv + images) into a draft study, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("zip", type=Path, help="the batch zip")
        parser.add_argument("--study", required=True, help="the study's slug")
        add_acting_user_argument(parser)

    def handle(self, *args, **options):
        path: Path = options["zip"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        study, actor = study_for_command(options["study"], options.get("acting_user"), "import_batch")
        try:
            batch = batch_create(study=study, archive_file=path, original_name=path.name, enqueue=False,
                                 uploaded_by=actor)
        except BatchRejected as rejected:
            raise CommandError(rejected.message) from None
        batch = batch_import(batch=batch)
        if batch.status != Batch.Status.DONE:
            lines = [f"batch {batch.pk} failed: {batch.failure_reason}"]
            lines += [f"  row {error.get('row') or '-'} {error.get('file') or ''}: {error['message']}"
                      for error in batch.errors]
            raise CommandError("\n".join(lines))
        self.stdout.write(self.style.SUCCESS(
            f"batch {batch.pk}: {batch.cases_created} cases imported into {study.slug} in {batch.duration_s:.2f} s "
            f"(zip SHA-256 {batch.zip_sha256})"))
