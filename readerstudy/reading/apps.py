from django.apps import AppConfig


class ReadingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "readerstudy.reading"
    label = "reading"
    verbose_name = "Reading"

    def ready(self) -> None:
        from . import services  # noqa: F401  connects the sequence freezing to the set-up's signals
