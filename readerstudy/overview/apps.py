from django.apps import AppConfig


class OverviewConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "readerstudy.overview"
    label = "overview"
    verbose_name = "Study overview"
