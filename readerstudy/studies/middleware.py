"""Last word on blinded image responses: strip headers other middleware adds after the view (``Vary: Cookie`` from
the session middleware, for one). It sits first in MIDDLEWARE so it sees the response last."""
from __future__ import annotations

from .blinding import LEAKY_HEADERS


class BlindedResponseMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "blinded", False):
            for header in LEAKY_HEADERS:
                if header in response:
                    del response[header]
        return response
