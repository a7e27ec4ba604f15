from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The desk: the lists people work in all day (urgency order, quick filters, saved views, bulk actions)."""

    name = "desk"
    default_auto_field = "django.db.models.BigAutoField"
