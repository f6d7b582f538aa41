"""One JSON error shape for the whole API: ``{"detail": ..., "errors": {field: [messages]}}``: DRF's own errors and
the domain's ``ApplicationError`` (``readerstudy.errors``) alike."""
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from readerstudy.errors import ApplicationError

# Errors about the request as a whole are reported against this pseudo-field, so ``errors`` always names something.
BODY_ERRORS = (exceptions.ParseError, exceptions.UnsupportedMediaType)


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        set_rollback()  # as DRF does for its own exceptions: an atomic request keeps nothing of a refused one
        return Response(exc.as_data(), status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) != {"detail"} and "errors" not in data:
        fields = {key: value if isinstance(value, list) else [value] for key, value in data.items()}
        response.data = {"detail": "Invalid input: " + ", ".join(sorted(fields)) + ".", "errors": fields}
    elif isinstance(data, list):
        response.data = {"detail": " ".join(str(item) for item in data), "errors": {}}
    elif isinstance(data, dict) and set(data) == {"detail"}:
        errors = {"body": [data["detail"]]} if isinstance(exc, BODY_ERRORS) else {}
        response.data = {"detail": data["detail"], "errors": errors}
    return response
