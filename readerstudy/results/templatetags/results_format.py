"""Formatting for the results page: p-values as a reviewer reads them."""
from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pvalue(value) -> str:
    """``< 0.0001`` for a p-value that would print as 0.0000, four decimals otherwise, ``–`` when there is none."""
    if value is None or value == "":
        return "–"
    value = float(value)
    if value != value:
        return "–"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"
