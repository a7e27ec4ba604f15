from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Production incidents"

    def ready(self) -> None:
        from . import (
            handlers,  # noqa: F401  registers paging
            hypercare_handlers,  # noqa: F401  registers hypercare linking and review opening
        )
