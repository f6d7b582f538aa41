"""Text at the edges: control characters found (to refuse input with a clear message) or scrubbed (to record a
failure whose own message quotes the bad input), and spreadsheet cells neutralised. A pure module: the batch parser,
which is fuzzed without Django, uses it, and so does every CSV export.

PostgreSQL cannot store NUL in text or JSON at all, and no field of this project has a use for the other C0 controls
but tab, line feed and carriage return (free text and CSV keep those).
"""
from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_LINE = re.compile(r"[\x00-\x1f\x7f]")  # for one-line values: names, paths, tokens


def control_character(text: str, *, one_line: bool = False) -> str | None:
    """The first control character in ``text`` as ``U+0000``, or None."""
    found = (_CONTROL_OR_LINE if one_line else _CONTROL).search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def control_character_in(value) -> str | None:
    """The first control character in any string (key or value) of a JSON-like value, or None."""
    if isinstance(value, str):
        return control_character(value)
    if isinstance(value, dict):
        for key, item in value.items():
            found = control_character_in(key) or control_character_in(item)
            if found:
                return found
    if isinstance(value, (list, tuple)):
        for item in value:
            found = control_character_in(item)
            if found:
                return found
    return None


def lone_surrogate_in(value) -> bool:
    """Whether any string (key or value) of a JSON-like value holds a lone surrogate (``"\\ud800"`` in JSON): it
    cannot be encoded as UTF-8, so no database or response can carry it."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(lone_surrogate_in(key) or lone_surrogate_in(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(lone_surrogate_in(item) for item in value)
    return False


def scrubbed(value):
    """``value`` (a string or a JSON-like value) with every control character replaced by U+FFFD."""
    if isinstance(value, str):
        return _CONTROL.sub("\ufffd", value.replace("\x00", "\ufffd"))
    if isinstance(value, dict):
        return {scrubbed(key): scrubbed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrubbed(item) for item in value]
    return value


def neutralise(cell: object) -> str:
    """A cell as text that a spreadsheet will not evaluate: anything starting like a formula gets a leading quote."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
