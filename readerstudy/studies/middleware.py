"""Middleware at the edges: the last word on blinded image responses (strip headers other middleware adds after the
view, ``Vary: Cookie`` from the session middleware for one: it sits first in MIDDLEWARE so it sees the response
last), a body limit for callers who are not signed in, and control characters refused in paths, queries and forms."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse

from readerstudy.errors import ApplicationError, json_refusal
from readerstudy.text import control_character

from .blinding import LEAKY_HEADERS


class BlindedResponseMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "blinded", False):
            for header in LEAKY_HEADERS:
                if header in response:
                    del response[header]
        return response


class AnonymousBodyLimitMiddleware:
    """Refuse (413) a body larger than ``ANONYMOUS_MAX_BODY_BYTES`` from a caller who is not signed in, before
    anything reads it: otherwise CSRF's check parses (and spools to disk) the whole body before refusing it. Sits
    after AuthenticationMiddleware; an API token caller is known only to DRF, so the header counts as signed in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if (length > settings.ANONYMOUS_MAX_BODY_BYTES and "HTTP_AUTHORIZATION" not in request.META
                and not request.user.is_authenticated):
            return _refusal(request, "The request body is too large for a caller who is not signed in.", "body",
                            413)
        return self.get_response(request)


class ControlCharacterMiddleware:
    """Refuse (400, naming the part) a path, query parameter or form field holding a control character: no URL or
    form of this project has a use for one, and PostgreSQL cannot even compare a NUL (a 500 before). JSON bodies are
    DRF's: its CharField refuses NUL."""

    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = self._find(request)
        if found:
            where, character = found
            return _refusal(request, f"The {where} contains a control character ({character}), which is not "
                                     "allowed.", where.split()[-1], 400)
        return self.get_response(request)

    def _find(self, request) -> tuple[str, str] | None:
        character = control_character(request.path, one_line=True)
        if character:
            return "address path", character
        for key, values in request.GET.lists():
            for text in (key, *values):
                if control_character(text, one_line=True):
                    return f"query parameter {key!r}", control_character(text, one_line=True)
        if request.method == "POST" and request.content_type in self.FORM_TYPES:
            try:
                fields = list(request.POST.lists())
            except Exception:  # noqa: BLE001 - an unreadable body is the view's (or CSRF's) to refuse
                return None
            for key, values in fields:
                for text in (key, *values):
                    if control_character(text):
                        return f"form field {key!r}", control_character(text)
        return None


def _refusal(request, message: str, field: str, status: int) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_refusal(ApplicationError(message, field, status_code=status))
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
