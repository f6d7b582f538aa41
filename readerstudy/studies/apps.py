from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "readerstudy.studies"
    verbose_name = "Reader studies"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from . import permissions  # noqa: F401  registers the study-admin rule with django-rules
        from .tokens import revoke_tokens_on_logout

        user_logged_out.connect(revoke_tokens_on_logout, dispatch_uid="revoke_api_tokens_on_logout")
