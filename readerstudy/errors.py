"""Project-wide 404 answer: a path under /api/ that matches no route gets the API's JSON error shape, pages keep
Django's HTML page (an API client must never have to parse an HTML error)."""
from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "errors": {}}, status=404)
    return defaults.page_not_found(request, exception)
