from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "readerstudy.batches"
    verbose_name = "Image batches"
