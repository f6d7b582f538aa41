"""Formatting for the results page: p-values as a reviewer reads them, and degenerate intervals flagged."""
from __future__ import annotations

from django import template

from ..summary import format_p
from ..summary import interval_warning as summary_interval_warning

register = template.Library()


@register.filter
def pvalue(value) -> str:
    """The whole p phrase, "p < 0.0001" or "p = 0.0123" ("no test" without one): ``summary.format_p``, the one
    format of every page, report and sentence."""
    return format_p(None if value in (None, "") else float(value))


@register.filter
def interval_warning(row: dict, figure: str = "rate") -> str:
    """Why ``row``'s interval (``ci_low``, ``ci_high``) is degenerate, or "": ``figure`` "rate" (0..1) or
    "difference" (-1..1)."""
    if not isinstance(row, dict):
        return ""
    full = (-1.0, 1.0) if figure == "difference" else (0.0, 1.0)
    return summary_interval_warning(row.get("ci_low"), row.get("ci_high"), full)


@register.filter
def fixed(value, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals ("" for None or nan, so ``|default`` still applies): what ``floatformat``
    gives for the page's numbers, without its Decimal arithmetic, which took a second of the page at 300 readers."""
    if value is None or value == "":
        return ""
    value = float(value)
    if value != value:
        return ""
    text = f"{value:.{int(digits)}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text
