"""python manage.py study_admins SLUG [--grant USERNAME]... [--revoke USERNAME]... [--as USERNAME]: list, grant and
remove a study's admins (audited; the last admin cannot be removed)."""
from django.core.management.base import BaseCommand, CommandError

from readerstudy.studies.commands import acting_user as account_for
from readerstudy.studies.commands import add_acting_user_argument, study_for_command
from readerstudy.studies.models import StudyAdministrator
from readerstudy.studies.services import LastAdmin, study_admin_grant, study_admin_revoke


class Command(BaseCommand):
    help = "List a study's admins; grant (--grant) or remove (--revoke) admin rights, audited."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--grant", action="append", default=[], metavar="USERNAME")
        parser.add_argument("--revoke", action="append", default=[], metavar="USERNAME")
        add_acting_user_argument(parser)

    def handle(self, *args, slug, grant, revoke, acting_user=None, **options):
        study, actor = study_for_command(slug, acting_user, "study_admins")
        for username in grant:
            _role, created = study_admin_grant(study=study, user=account_for(username), actor=actor)
            self.stdout.write(f"{username} {'is now' if created else 'was already'} an admin of {slug}.")
        for username in revoke:
            try:
                removed = study_admin_revoke(study=study, user=account_for(username), actor=actor)
            except LastAdmin as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"{username} {'is no longer' if removed else 'was not'} an admin of {slug}.")
        names = StudyAdministrator.objects.filter(study=study).values_list("user__username", flat=True)
        self.stdout.write(f"Admins of {slug}: {', '.join(names) or '(none: superusers only)'}")
