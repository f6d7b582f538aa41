"""The API's body parsers, bounded: every JSON and form body is read up to the one body limit
(``DATA_UPLOAD_MAX_MEMORY_SIZE``, 5 MiB; more is 413 before it is parsed), and a JSON body nested deeper than
``MAX_JSON_DEPTH`` or holding a lone surrogate or a control character is refused with 400 naming the problem.

Before (issue 29): DRF's JSON and form parsers read the stream whole (a reader's 100 MB vote body was parsed,
+183 MB on a worker); deep nesting raised ``RecursionError`` (a 500 on every JSON endpoint, the anonymous token
endpoint included, from a 40 KB body); a lone surrogate (``"\\ud800"``) in a choice field was echoed into the error
and failed to encode (a 500). Control characters are refused as the forms refuse them (``ControlCharacterMiddleware``).
"""
from __future__ import annotations

import json
import re

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

from readerstudy.errors import ApplicationError
from readerstudy.text import control_character_in, lone_surrogate_in

MAX_JSON_DEPTH = 32  # no body of this API nests deeper than a few levels


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def body_limit() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def read_bounded(stream, meta: dict | None = None) -> bytes:
    """The body, refused (413) when it declares or turns out to be larger than the limit; at most one byte more than
    the limit is ever read."""
    limit = body_limit()
    declared = (meta or {}).get("CONTENT_LENGTH") or 0
    try:
        declared = int(declared)
    except (TypeError, ValueError):
        declared = 0
    if declared > limit:
        raise BodyTooLarge(f"The body is larger than {limit:,} bytes.")
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise BodyTooLarge(f"The body is larger than {limit:,} bytes.")
    return body


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _depth_checked(text: str) -> None:
    """Refuse nesting deeper than ``MAX_JSON_DEPTH``, counted on the text before it is parsed (brackets inside
    strings skipped), so the parser never recurses that deep."""
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")


def refused_text(value) -> str | None:
    """Why a parsed value cannot be accepted (a lone surrogate or a control character in any key or string), or
    None."""
    if lone_surrogate_in(value):
        return "a lone surrogate (an invalid character)"
    character = control_character_in(value)
    return f"a control character ({character})" if character else None


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context.get("request")
        raw = read_bounded(stream, getattr(request, "META", None))
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        _depth_checked(text)
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        problem = refused_text(data)
        if problem:
            field = next((key for key, value in data.items() if refused_text(key) or refused_text(value)), None) \
                if isinstance(data, dict) else None
            where = f"The field {field!r}" if field is not None and not refused_text(field) else "The JSON body"
            raise ApplicationError(f"{where} contains {problem}, which is not allowed.",
                                   field if field is not None and not refused_text(field) else "body")
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class BoundedFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        from django.http import QueryDict

        parser_context = parser_context or {}
        request = parser_context.get("request")
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        return QueryDict(read_bounded(stream, getattr(request, "META", None)), encoding=encoding)


MULTIPART_ENVELOPE_BYTES = 1024 * 1024


class BoundedMultiPartParser(parsers.MultiPartParser):
    """Django's multipart parser (its own limits for the non-file parts); the whole body is refused (413) when it
    declares more than the largest upload the app accepts: a batch zip (``BATCH_MAX_ZIP_BYTES``) and 1 MiB of
    envelope (deploy/nginx.conf caps the upload paths alike)."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        try:
            declared = int(getattr(request, "META", {}).get("CONTENT_LENGTH") or 0)
        except (TypeError, ValueError):
            declared = 0
        limit = settings.BATCH_MAX_ZIP_BYTES + MULTIPART_ENVELOPE_BYTES
        if declared > limit:
            raise BodyTooLarge(f"The upload is larger than {limit:,} bytes.")
        return super().parse(stream, media_type, parser_context)
