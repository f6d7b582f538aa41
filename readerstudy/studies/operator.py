"""A superuser acting on a study they do not administer (operator access): audited, and said on every page.

``operator_access`` is called by the central checks (``selectors.study_for_staff``, the image view) when a superuser
reaches a study outside their own. It writes an ``operator_access`` entry to the study's audit trail naming the
request (or the management command) and marks the request, so that the page shows a banner
(``context_processors.site``) and every response carries ``X-Operator-Access`` (``OperatorAccessMiddleware``).
"""
from __future__ import annotations

from contextvars import ContextVar

from .services import audit

OPERATOR_HEADER = "X-Operator-Access"
_current_request: ContextVar = ContextVar("readerstudy_current_request", default=None)


class OperatorAccessMiddleware:
    """Keeps the request reachable by the central checks while the view runs, and says on the response which
    studies a superuser reached outside their own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _current_request.reset(token)
        outside = getattr(request, "operator_outside", None)
        if outside:
            response[OPERATOR_HEADER] = "superuser outside own studies: " + ", ".join(sorted(outside))
        return response


def operator_access(user, study, *, via: str = "") -> None:
    """Audit a superuser's access to a study they do not administer (once per request and study)."""
    request = _current_request.get()
    outside = getattr(request, "operator_outside", None) if request is not None else None
    if outside is not None and study.slug in outside:
        return
    where = f"{request.method} {request.get_full_path()}" if request is not None else via
    audit(study, user, "operator_access", field="superuser", new=where[:500])
    if request is not None:
        request.operator_outside = (outside or set()) | {study.slug}


def studies_outside(request) -> list[str]:
    """The slugs of the studies this request reached as operator (for the page banner)."""
    return sorted(getattr(request, "operator_outside", None) or ())
