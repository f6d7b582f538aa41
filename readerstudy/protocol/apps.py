from django.apps import AppConfig


class ProtocolConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "readerstudy.protocol"
    label = "protocol"
    verbose_name = "Study protocol"
