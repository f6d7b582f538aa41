"""Who a management command acts as, on which study, and the audit entry that says so.

An operator runs a command either naming the acting user (``--as USERNAME``: they must administer the study; a
superuser outside their studies is audited as operator access) or without one, as the server's operator (superuser
rights). Either way the study's audit trail gets a ``command`` entry naming the command and who ran it.
"""
from __future__ import annotations

from django.core.management.base import CommandError

from .models import Study
from .operator import operator_access
from .permissions import ADMINISTER_STUDY, caller_is_admin
from .selectors import account_named
from .services import audit

OPERATOR = "operator (server shell, superuser rights)"


def add_acting_user_argument(parser) -> None:
    parser.add_argument("--as", dest="acting_user", metavar="USERNAME", default=None,
                        help="the account acting (must administer the study); without it the command runs as the "
                             "server's operator (superuser rights), and the audit trail says so")


def acting_user(username: str | None):
    """The account named by ``--as``, or None for the operator."""
    if username is None:
        return None
    user = account_named(username)
    if user is None:
        raise CommandError(f"--as {username}: no such account.")
    return user


def study_for_command(slug: str, username: str | None, command: str) -> tuple[Study, object]:
    """The study (CommandError when there is none, or when ``--as`` names someone who does not administer it), and
    the acting user (None for the operator); audited."""
    user = acting_user(username)
    study = Study.objects.filter(slug=slug)
    if user is not None:
        study = study.annotate(caller_is_admin=caller_is_admin(user))
    study = study.first()
    if study is None:
        raise CommandError(f"No study with slug {slug!r}.")
    if user is not None:
        study.admin_checked_for = user.pk
        if not user.has_perm(ADMINISTER_STUDY, study):
            raise CommandError(f"{username} does not administer study {slug!r}.")
        if not study.caller_is_admin:
            operator_access(user, study, via=f"manage.py {command}")
    audit(study, user, "command", field=command, new=f"as {username}" if user is not None else OPERATOR)
    return study, user
