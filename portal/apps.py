from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portico"

    def ready(self) -> None:
        from .metrics import metrics_autodiscover

        metrics_autodiscover()
