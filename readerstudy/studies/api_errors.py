"""One JSON error shape for the whole API: ``{"detail": ..., "errors": {field: [messages]}}``."""
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) != {"detail"} and "errors" not in data:
        fields = {key: value if isinstance(value, list) else [value] for key, value in data.items()}
        response.data = {"detail": "Invalid input: " + ", ".join(sorted(fields)) + ".", "errors": fields}
    elif isinstance(data, list):
        response.data = {"detail": " ".join(str(item) for item in data), "errors": {}}
    return response
