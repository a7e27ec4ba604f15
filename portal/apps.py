from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_role_groups(sender: AppConfig, **kwargs: object) -> None:
    from .roles import ensure_role_groups

    ensure_role_groups()


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portico"

    def ready(self) -> None:
        # Permissions exist only after every app's post_migrate, so the groups are (re)made then, idempotently.
        post_migrate.connect(_create_role_groups, dispatch_uid="portico-role-groups")
