"""One rule for usernames, wherever an account is named or made (readers API and page, invitations' sign-up,
``add_reader``, admin grants): NFKC-normalised as Django stores them, plain ASCII letters, digits and ``. @ + - _``,
and never a look-alike of another account (the same name in other capitals).

Before (issue 29): a fullwidth ``１２`` where ``12`` existed was looked up as typed, not found, then created as Django
normalises it (``12``), which collided: a 500 on the readers API and page. Sign-up took look-alike names.
"""
from __future__ import annotations

import re
import unicodedata

from django.contrib.auth import get_user_model

from readerstudy.errors import ApplicationError

ALLOWED = re.compile(r"^[A-Za-z0-9.@+_-]{1,150}\Z")


class UsernameRefused(ApplicationError):
    field = "username"

    def __init__(self, message: str) -> None:
        super().__init__(message, "username")


def username_checked(raw: str) -> str:
    """The username as stored, or ``UsernameRefused`` saying what to type instead."""
    name = unicodedata.normalize("NFKC", raw)
    if name != raw:
        raise UsernameRefused(f"This username is written with look-alike characters; type it as {name!r}.")
    if not ALLOWED.match(name):
        raise UsernameRefused("A username is 1-150 plain letters (a-z, A-Z), digits and . @ + - _ only.")
    return name


def lookalike_of_another(name: str) -> bool:
    """Whether another account has this name in other capitals."""
    return get_user_model().objects.filter(username__iexact=name).exclude(username=name).exists()


def new_username_checked(raw: str) -> str:
    """A name for a new account: ``username_checked`` and no look-alike of an existing one."""
    name = username_checked(raw)
    if lookalike_of_another(name):
        raise UsernameRefused("An account with this name in other capitals exists; choose another name.")
    return name
