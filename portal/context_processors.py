"""Template context from the kernel."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def sign_in_options(request: HttpRequest) -> dict[str, bool]:
    """Whether the log-in pages offer single sign-on (the lockout page renders the log-in template too)."""
    return {"sso_enabled": settings.PORTICO_SSO_ENABLED}
