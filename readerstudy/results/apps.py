from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "readerstudy.results"
    verbose_name = "Results"
