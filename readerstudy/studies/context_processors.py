from django.conf import settings

from .operator import studies_outside


def site(request) -> dict:
    """``OPERATOR_OUTSIDE``: the studies a superuser reached on this page without administering them (the banner)."""
    return {"DEMO_MODE": settings.DEMO_MODE, "OPERATOR_OUTSIDE": studies_outside(request)}
