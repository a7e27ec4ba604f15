from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Weekly SLA reports, the program manager's dashboard and their exports."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the system check)
            handlers,  # noqa: F401  (registers the stored weeks' restale on every request event)
        )
