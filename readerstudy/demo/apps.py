from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: ``manage.py demo`` (the whole chain: data, training, generation, import into an open study) and
    ``manage.py demo_study`` (drawn images only). No models; it sits on top of every other app."""

    name = "readerstudy.demo"
    label = "demo"
    verbose_name = "Demo"
