"""The project's errors, mapped to answers in one place.

``ApplicationError`` is what a service raises when a request cannot be satisfied (the HackSoft guide's
``ApplicationError``): it carries its message, the HTTP status it answers with, the field it is about and any extra
members of the answer. The one DRF exception handler (``readerstudy.studies.api_errors``) turns it into the API's
one error shape, ``{"detail": ..., "errors": {field: [detail]}, ...extra}``; views and APIs only serialize. A page
that acts by POST and redirects says it with ``page_refusal``.

The project-wide 404 answer is here too: a path under /api/ that matches no route gets the API's JSON error shape,
pages keep Django's HTML page (an API client must never have to parse an HTML error).
"""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.views import defaults


class ApplicationError(Exception):
    """A request the domain refuses: ``status_code`` says how (400 invalid, 403, 404, 409 conflicts with the state),
    ``field`` names what to fix, ``extra`` adds members to the answer (e.g. the stored vote of a conflict)."""

    status_code = 400
    field = "non_field_errors"

    def __init__(self, message: str, field: str | None = None, *, status_code: int | None = None,
                 extra: dict | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}

    def field_messages(self) -> list[str]:
        """What ``errors`` lists under ``field``: the message (a refusal with several findings lists them all)."""
        return [self.message]

    def as_data(self) -> dict:
        """The answer's body, in the API's one error shape."""
        return {"detail": self.message, "errors": {self.field: self.field_messages()}, **self.extra}


def json_refusal(error: ApplicationError) -> JsonResponse:
    """The same answer outside DRF (middleware, the preview's plain JSON views)."""
    return JsonResponse(error.as_data(), status=error.status_code)


def page_refusal(request, error: ApplicationError) -> None:
    """The same refusal on a page that redirects after a POST: a 404 stays a 404 (a page never hints that another
    study's object exists), anything else is said once, as the page's error message, for the redirect to show."""
    if error.status_code == 404:
        raise Http404(error.message) from error
    messages.error(request, error.message)


class NotFound(ApplicationError):
    status_code = 404


class Conflict(ApplicationError):
    status_code = 409


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "errors": {}}, status=404)  # no field to name
    return defaults.page_not_found(request, exception)
