from django.apps import AppConfig


class JiraBridgeConfig(AppConfig):
    """The Jira feature: inbound webhooks and intake, the outbound mirror, and their models."""

    name = "jira_bridge"
    verbose_name = "Jira"

    def ready(self) -> None:
        from . import handlers  # noqa: F401  registers the Jira mirror
