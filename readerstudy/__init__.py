"""The reader-study platform: Django project, its apps and its Celery app."""
from .celery import app as celery_app

__all__ = ("celery_app",)
