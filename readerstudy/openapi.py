"""OpenAPI post-processing: document the error answers every operation can give, in the API's one error shape.

The views declare their success bodies (and a few specific errors); the refusals shared by every endpoint come from
DRF and the exception handler (``readerstudy.studies.api_errors``): 400 for a malformed body or query, 401/403 for a
caller who is not signed in or may not do this, 404 for a study or object the caller may not know about. Declaring
them here keeps the schema truthful (schemathesis checks every answer against it) without repeating them per view.
"""
from __future__ import annotations

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "The API's one error shape: a sentence for a person and the offending fields.",
    "properties": {
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {}}},
    },
    "required": ["detail"],
}
DESCRIPTIONS = {
    "400": "Invalid input; `errors` names each offending field (`body` for a malformed body, `path` or the parameter "
           "for a control character in the address).",
    "401": "Not signed in (token authentication).",
    "403": "Not signed in, or not allowed to do this.",
    "404": "No such object for you (a study you are not a member of is not named).",
    "409": "The study's state does not allow this now (not open, not a draft, nothing to compare); `errors` names "
           "`study` or `cases`.",
}
WRITE_METHODS = {"post", "put", "patch"}


def _codes_for(method: str, path: str, operation: dict) -> list[str]:
    codes = ["401", "403"]
    has_query = any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))
    if method in WRITE_METHODS or has_query or "{" in path:  # a path parameter may hold a control character
        codes.append("400")
    if "{" in path:
        codes.append("404")
    if "{slug}" in path:
        codes.append("409")
    return codes


def document_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular POSTPROCESSING_HOOKS entry: add the shared error responses each operation lacks."""
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code in _codes_for(method, path, operation):
                if code not in responses:
                    responses[code] = {"description": DESCRIPTIONS[code],
                                       "content": {"application/json": {"schema": reference}}}
    return result
