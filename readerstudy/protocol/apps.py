from django.apps import AppConfig


class ProtocolConfig(AppConfig):
    """Holds only the migration history of the former ``protocol`` app: its models moved to ``reading`` (and the audit
    trail and invitations to ``studies``) with their tables, and its last migration drops them from this app's state.
    The label stays registered so that databases migrated before the move find that history."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "readerstudy.protocol"
    label = "protocol"
    verbose_name = "Study protocol (migrations only)"
