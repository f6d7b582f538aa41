"""The login page (it says how many tries are left before django-axes locks the account out, and the lockout is a
page of the site), the token endpoint (rate limited per address, expired tokens replaced) and a password change
django-axes counts."""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from readerstudy.parsers import BoundedFormParser, BoundedJSONParser, BoundedMultiPartParser

from .tokens import token_expired


class TokenRequestThrottle(AnonRateThrottle):
    """Token requests per client address, whatever the username (axes counts per username and address)."""

    scope = "auth_token"

    def get_rate(self) -> str:
        return settings.API_TOKEN_REQUEST_RATE  # read per request, so a deployment (or a test) can change it


class ObtainExpiringAuthToken(ObtainAuthToken):
    """``POST {username, password}`` -> ``{"token": ...}``: the user's live token, or a fresh one when it expired."""

    throttle_classes = [TokenRequestThrottle]
    parser_classes = [BoundedFormParser, BoundedMultiPartParser, BoundedJSONParser]  # DRF's own are unbounded

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, created = Token.objects.get_or_create(user=user)
        if not created and token_expired(token):
            token.delete()
            token = Token.objects.create(user=user)
        return Response({"token": token.key})


MAX_PASSWORD_LENGTH = 1024  # one bound for every form and the API (issue 29: 100,000 characters were accepted by
# the change form, then refused at login by the anonymous body limit)


class MaximumLengthValidator:
    """A password of at most ``MAX_PASSWORD_LENGTH`` characters (sign-up, change, admin, ``changepassword``)."""

    def validate(self, password: str, user=None) -> None:
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValidationError(f"This password is too long: at most {MAX_PASSWORD_LENGTH} characters.",
                                  code="password_too_long")

    def get_help_text(self) -> str:
        return f"Your password can be at most {MAX_PASSWORD_LENGTH} characters."


class BoundedAuthenticationForm(AuthenticationForm):
    """The login form, with the password bounded as every other form bounds it."""

    password = forms.CharField(label="Password", strip=False, max_length=MAX_PASSWORD_LENGTH,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class CountedPasswordChangeForm(PasswordChangeForm):
    """The old password is checked through ``authenticate()``, so django-axes counts wrong ones (and locks the
    account from that address after ``AXES_FAILURE_LIMIT``) exactly as it does on the login page."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if len(old_password) > MAX_PASSWORD_LENGTH:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        found = authenticate(self.request, username=self.user.get_username(), password=old_password)
        if found is None or found.pk != self.user.pk:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class CountedPasswordChangeView(PasswordChangeView):
    form_class = CountedPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


def lockout_minutes() -> int:
    """How long a lock-out lasts (``AXES_COOLOFF_TIME``), in whole minutes."""
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def attempts_left(request: HttpRequest, username: str) -> int:
    """Wrong passwords this username may still give from this address before django-axes locks it out."""
    from axes.handlers.proxy import AxesProxyHandler

    failures = AxesProxyHandler.get_failures(request, {"username": username})
    return max(0, settings.AXES_FAILURE_LIMIT - failures)


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login page (``AXES_LOCKOUT_CALLABLE``): a page of the site that says how
    long the lock-out lasts, with axes' status (429). The token endpoint keeps DRF's 400 (docs/security.md)."""
    return render(request, "registration/locked_out.html", {"lockout_minutes": lockout_minutes()},
                  status=settings.AXES_HTTP_RESPONSE_CODE)


class CountedLoginView(LoginView):
    """The login page; after a wrong password it says how many tries are left before the lock-out, and for how long
    the lock-out would last, so the last try is never a surprise. Its form bounds the password as every form does."""

    authentication_form = BoundedAuthenticationForm

    def form_invalid(self, form):
        username = form.data.get("username", "")
        left = attempts_left(self.request, username) if username and settings.AXES_ENABLED else None
        return self.render_to_response(self.get_context_data(form=form, attempts_left=left,
                                                             lockout_minutes=lockout_minutes()))
