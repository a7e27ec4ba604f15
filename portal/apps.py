from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portico"

    def ready(self) -> None:
        from .auth_backends import signed_in_user_extra_register
        from .metrics import metrics_autodiscover
        from .otp.services import OTP_SIGNED_IN_USER_EXTRA

        metrics_autodiscover()
        signed_in_user_extra_register(OTP_SIGNED_IN_USER_EXTRA)
