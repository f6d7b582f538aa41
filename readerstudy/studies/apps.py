from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "readerstudy.studies"
    verbose_name = "Reader studies"

    def ready(self) -> None:
        from . import permissions  # noqa: F401  registers the study-admin rule with django-rules
