"""API tokens that expire and rotate: DRF's own ``Token`` (one per user) given an age limit (``API_TOKEN_TTL``) rather
than replaced by a token library, since checking the age costs nothing on the reading hot path (the row is read
anyway). A token is deleted when its user changes password or logs out; an expired one is replaced at the next
request for a token (``auth.ObtainExpiringAuthToken``).

Kept apart from the views in ``auth`` because DRF imports the authentication class while it builds ``APIView``.
"""
from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_expired(token: Token) -> bool:
    return token.created < timezone.now() - settings.API_TOKEN_TTL


def tokens_revoke(user) -> None:
    """Drop the user's API token: the next script must ask for a new one with the current password."""
    Token.objects.filter(user=user).delete()


def revoke_tokens_on_logout(sender, request, user, **kwargs) -> None:
    """``user_logged_out`` receiver (connected in ``StudiesConfig.ready``)."""
    if user is not None:
        tokens_revoke(user)


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing a token older than ``API_TOKEN_TTL`` (it is deleted)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            token.delete()
            raise exceptions.AuthenticationFailed("Token has expired; ask for a new one.")
        return user, token


class RotateApiTokensOnPasswordChange:
    """Not a rule on passwords: Django calls every configured validator's ``password_changed`` after any password
    change (the change page, the admin, ``changepassword``, a reset), which is the one hook all of them share."""

    def validate(self, password, user=None) -> None:
        return None

    def password_changed(self, password, user=None) -> None:
        if user is not None and user.pk is not None:
            tokens_revoke(user)

    def get_help_text(self) -> str:
        return ""
