"""Content negotiation for downloads (CSV, iMRMC, Markdown): the body is the file the view builds, whatever the
client's Accept header says."""
from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation


class DownloadNegotiation(BaseContentNegotiation):
    """The view's first renderer and parser, always: a download never answers 406 to ``Accept: text/csv``, and its
    errors stay JSON (the default renderer)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
