from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_role_groups(sender: AppConfig, **kwargs: object) -> None:
    from .roles import ensure_role_groups

    ensure_role_groups()


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Requests"

    def ready(self) -> None:
        from portal.auth_backends import signed_in_user_extra_register
        from portal.otp.services import otp_staff_rule_register
        from portal.tokens import api_token_role_register

        from . import sso  # noqa: F401  registers the check of PORTICO_SSO_GROUP_MAP
        from .permissions import SIGNED_IN_USER_EXTRAS
        from .roles import is_otp_staff, role_of

        otp_staff_rule_register(is_otp_staff)
        api_token_role_register(role_of)  # PORTICO_API_TOKEN_MAX_DAYS is keyed by these roles
        for extra in SIGNED_IN_USER_EXTRAS:
            signed_in_user_extra_register(extra)

        # Permissions exist only after every app's post_migrate, so the groups are (re)made then, idempotently.
        post_migrate.connect(_create_role_groups, dispatch_uid="portico-role-groups")
